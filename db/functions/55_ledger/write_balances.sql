-- Owns: writing VALR's balances of an account, one row per currency: of several rows of one currency
-- the newest (VALR's updatedAt; of equal ones the last given), and an older snapshot never overwrites a
-- newer one (an older updatedAt changes nothing; the trigger balances_never_older refuses it from any
-- writer). An equal updatedAt with other amounts is the later word and is held: VALR stamps to the
-- millisecond, and a market order trading at several levels moves a balance several times within one
-- (keeping the first left the balance wrong until its next change: even a REST read, same stamp, was
-- refused); the same amounts again change nothing. p_rows are ledger_balance_row's rows; NULL ones
-- (malformed) are skipped. Returns the rows written. Internal: record_balances, record_ledger_frames
-- (which build the rows once).
CREATE OR REPLACE FUNCTION lth_pvr.write_balances(p_rows lth_pvr.balances[])
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    v_n int;
BEGIN
    INSERT INTO lth_pvr.balances AS b
    SELECT DISTINCT ON (x.currency) x.exchange_account_id, x.currency, x.available, x.reserved, x.total,
           x.updated_at, x.recorded_at, x.source, x.raw
      FROM unnest(p_rows) WITH ORDINALITY AS x
     WHERE x.currency IS NOT NULL
     ORDER BY x.currency, x.updated_at DESC, x.ordinality DESC
    ON CONFLICT (exchange_account_id, currency) DO UPDATE
       SET available = excluded.available, reserved = excluded.reserved, total = excluded.total,
           updated_at = excluded.updated_at, recorded_at = excluded.recorded_at, source = excluded.source,
           raw = excluded.raw
     WHERE excluded.updated_at > b.updated_at
        OR (excluded.updated_at = b.updated_at
            AND (excluded.available, excluded.reserved, excluded.total)
                IS DISTINCT FROM (b.available, b.reserved, b.total));
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.write_balances(lth_pvr.balances[]) FROM PUBLIC;
