-- Owns: VALR's balances of an account (BALANCE_UPDATE data, sent for every asset on connect and on
-- every change; items of GET /v1/account/balances), one row per currency: available, reserved
-- (held by open orders: a resting buy order moves funds from available to reserved, total unchanged —
-- never a withdrawal), total, VALR's updatedAt. An older snapshot never overwrites a newer one (an
-- equal or older updatedAt changes nothing; the trigger balances_never_older refuses it from any
-- writer). Malformed items (ledger_balance_row) are skipped. Returns the
-- rows written. Internal: record_ledger_frames, record_balance_snapshot.
CREATE OR REPLACE FUNCTION lth_pvr.record_balances(
    p_exchange_account_id uuid,
    p_source text,
    p_items jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    v_n int;
BEGIN
    IF jsonb_typeof(p_items) <> 'array' THEN
        RETURN 0;
    END IF;
    INSERT INTO lth_pvr.balances AS b
    SELECT DISTINCT ON (x.currency) x.*
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, n),
           LATERAL lth_pvr.ledger_balance_row(p_exchange_account_id, p_source, e.item, p_now) x
     WHERE x.currency IS NOT NULL
     ORDER BY x.currency, x.updated_at DESC, e.n DESC
    ON CONFLICT (exchange_account_id, currency) DO UPDATE
       SET available = excluded.available, reserved = excluded.reserved, total = excluded.total,
           updated_at = excluded.updated_at, recorded_at = excluded.recorded_at, source = excluded.source,
           raw = excluded.raw
     WHERE excluded.updated_at > b.updated_at;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_balances(uuid, text, jsonb, timestamptz) FROM PUBLIC;
