-- Owns: one read of a ccxt account's history (fetch_ledger entries, or fetch_deposits /
-- fetch_withdrawals transactions; ccxt_transaction_item says what each is) and the account's time
-- cursor, in one transaction. Entries with status ok go through record_transactions: once per
-- (exchange, id) — the same deposit twice is one row, two equal deposits two —, `v_deposits` lists
-- the deposits and NOTIFY lth_pvr_deposit fires once, when the deposit is first recorded. A pending
-- deposit (txid, network or address: crypto) is a pending receive (record_pending_receives: listed
-- unconfirmed in v_deposits, no NOTIFY), keyed by its txid (else its id); its ok entry later credits
-- it, as VALR's BLOCKCHAIN_RECEIVE credits its NEW_PENDING_RECEIVE. failed/canceled: nothing.
-- Cursor (p_source 'rest': the catch-up, read since ledger_cursors.newest_event_at, oldest first):
-- moves to the newest entry read, but never past a pending one (the next read, `since` inclusive,
-- sees it again until the exchange gives its final word); never back. 'rescan' leaves it.
-- Returns what was read and the cursor after it (the worker's next `since`).
CREATE OR REPLACE FUNCTION lth_pvr.record_exchange_transactions(
    p_exchange_account_id uuid,
    p_source text,
    p_entries jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (received int, recorded int, pending int, malformed int, next_since timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c lth_pvr.ledger_cursors;
BEGIN
    IF p_source NOT IN ('rest', 'rescan') OR coalesce(jsonb_typeof(p_entries), '') <> 'array' THEN
        RAISE EXCEPTION 'record_exchange_transactions: source rest or rescan and an array of entries'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    c := lth_pvr.ledger_cursor(p_exchange_account_id);
    received := jsonb_array_length(p_entries);
    pending := lth_pvr.record_pending_receives(p_exchange_account_id, coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'transactionHash', coalesce(e->'txid', e->'id'), 'currency', e->'currency', 'amount', e->'amount',
                   'confirmed', false, 'createdAt', e->'timestamp', 'networkType', e->'network'))
          FROM jsonb_array_elements(p_entries) e
         WHERE e->>'status' = 'pending'
           AND (e->>'type' = 'deposit' OR (e->>'direction' = 'in' AND e->>'type' = 'transaction'))
           AND coalesce(e->>'txid', e->>'network', e->>'address') IS NOT NULL), '[]'), p_now);
    SELECT count(*) FILTER (WHERE t.outcome = 'recorded'), count(*) FILTER (WHERE t.outcome = 'malformed')
      INTO recorded, malformed
      FROM lth_pvr.record_transactions(p_exchange_account_id, p_source, coalesce((
               SELECT jsonb_agg(i) FROM jsonb_array_elements(p_entries) e, lth_pvr.ccxt_transaction_item(e) i
                WHERE i IS NOT NULL), '[]'), p_now) t;
    next_since := c.newest_event_at;
    IF p_source = 'rest' THEN
        SELECT greatest(c.newest_event_at,
                        least(max(lth_pvr.json_time(e->'timestamp')),
                              min(lth_pvr.json_time(e->'timestamp')) FILTER (WHERE e->>'status' = 'pending')))
          INTO next_since
          FROM jsonb_array_elements(p_entries) e;
        UPDATE lth_pvr.ledger_cursors SET newest_event_at = next_since
         WHERE exchange_account_id = p_exchange_account_id;
    END IF;
    RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_exchange_transactions(uuid, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_exchange_transactions(uuid, text, jsonb, timestamptz) TO valr_worker;
