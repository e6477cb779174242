-- Owns: recording VALR transactions, from any source (the socket's NEW_ACCOUNT_HISTORY_RECORD, the
-- REST catch-up, the re-scan), idempotent on VALR's id — the only dedupe key: never a date, an
-- amount or the time of recording, so two deposits of the same amount on the same day are two rows.
-- Set-based: one INSERT for the whole list. Per item: `recorded` (first time), `duplicate` (held,
-- or earlier in the same list), `conflict` (the id is held for another account: kept as first recorded,
-- never overwritten), `malformed` (ledger_transaction_row refused it). A deposit recorded for the first time
-- sends NOTIFY lth_pvr_deposit (payload: transaction_id, exchange_account_id, kind, currency,
-- amount); a crypto deposit credits its pending receive (same transactionHash).
-- Internal: record_ledger_frames and record_transaction_page call it.
CREATE OR REPLACE FUNCTION lth_pvr.record_transactions(
    p_exchange_account_id uuid,
    p_source text,
    p_items jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (item_index int, transaction_id text, outcome text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_rows lth_pvr.account_transactions[];
    v_ids   text[];     -- v_rows' ids, in item order (NULL: malformed): read by position, not v_rows[n]
    v_inserted lth_pvr.account_transactions[];  -- the rows the INSERT wrote, as written (its triggers')
    v_new   text[];
    v_types text[];
    v_exchange text := (SELECT a.exchange FROM lth_pvr.exchange_accounts a
                         WHERE a.exchange_account_id = p_exchange_account_id);
BEGIN
    IF jsonb_typeof(p_items) <> 'array' OR jsonb_array_length(p_items) = 0 THEN
        RETURN;
    END IF;
    -- The function in FROM: called once per item (a malformed item gives a row of NULLs).
    SELECT array_agg(r ORDER BY e.n), array_agg(r.transaction_id ORDER BY e.n)
      INTO v_rows, v_ids
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, n),
           LATERAL lth_pvr.ledger_transaction_row(p_exchange_account_id, p_source, e.item, p_now) r;

    WITH inserted AS (
        INSERT INTO lth_pvr.account_transactions AS t
        SELECT * FROM unnest(v_rows) AS r WHERE r.transaction_id IS NOT NULL
        ON CONFLICT (exchange, transaction_id) DO NOTHING
        RETURNING t
    )
    SELECT coalesce(array_agg(i.t), '{}') INTO v_inserted FROM inserted i;
    SELECT coalesce(array_agg(n.transaction_id), '{}'), coalesce(array_agg(DISTINCT n.transaction_type), '{}')
      INTO v_new, v_types
      FROM unnest(v_inserted) n;

    -- The deposit statements read the rows the INSERT returned, never the table: read back from it
    -- (by the primary key, it was meant), a young table without statistics (a new deployment's first
    -- catch-up, the bench) was planned as a scan of the account's whole history for every page with
    -- a deposit — 130 ms a page at 40,000 transactions, growing with each (figure 11).
    -- Only a type deposit_kind may call a deposit (the categories it reads) costs the NOTIFY and the
    -- pending-receive query, and only its rows are asked: a read of trade records (the hot path)
    -- skips both, and a catch-up page of trades with one deposit judges that one row.
    SELECT array_agg(k.transaction_type) INTO v_types
      FROM lth_pvr.transaction_types k
     WHERE k.transaction_type = ANY (v_types)
       AND k.category IN ('fiat_deposit', 'crypto_deposit', 'transfer');
    IF v_types IS NOT NULL THEN
        PERFORM pg_notify('lth_pvr_deposit', jsonb_build_object(
                    'transaction_id', t.transaction_id, 'exchange_account_id', t.exchange_account_id,
                    'kind', t.kind, 'currency', t.credit_currency, 'amount', t.credit_value)::text)
           FROM (SELECT t.*, lth_pvr.deposit_kind(t.transaction_type, t.credit_value, t.debit_value) AS kind
                   FROM unnest(v_inserted) t
                  WHERE t.transaction_type = ANY (v_types) AND t.exchange_account_id = p_exchange_account_id
                 OFFSET 0) t  -- OFFSET 0: deposit_kind once a row, after the type filter
          WHERE t.kind IS NOT NULL
          ORDER BY t.event_at, t.transaction_id;
        UPDATE lth_pvr.pending_receives p
           SET credited_transaction_id = t.transaction_id, updated_at = p_now
          FROM unnest(v_inserted) t
         WHERE t.transaction_type = ANY (v_types) AND t.exchange_account_id = p_exchange_account_id
           AND lth_pvr.deposit_kind(t.transaction_type, t.credit_value, t.debit_value) = 'crypto'
           AND p.exchange_account_id = t.exchange_account_id
           AND p.transaction_hash = t.additional_info->>'transactionHash'
           AND p.credited_transaction_id IS NULL;
    END IF;

    -- An item the INSERT wrote is `recorded` by its result; only an id held before (or earlier in the
    -- list) is looked up, by the whole primary key in a subquery CASE reaches only then. Joined to the
    -- held rows instead, a young table's default estimates (no statistics yet: the bench, a new
    -- deployment's first minutes) hashed every transaction of the exchange on every read.
    RETURN QUERY
    SELECT (x.n - 1)::int, x.id,
           CASE WHEN x.id IS NULL THEN 'malformed'
                WHEN x.first AND x.id = ANY (v_new) THEN 'recorded'
                WHEN (SELECT held.exchange_account_id FROM lth_pvr.account_transactions held
                       WHERE held.exchange = v_exchange AND held.transaction_id = x.id) <> p_exchange_account_id
                THEN 'conflict'
                ELSE 'duplicate' END
      FROM (SELECT u.n, u.id, row_number() OVER (PARTITION BY u.id ORDER BY u.n) = 1 AS first
              FROM unnest(v_ids) WITH ORDINALITY AS u(id, n)) x
     ORDER BY x.n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_transactions(uuid, text, jsonb, timestamptz) FROM PUBLIC;
