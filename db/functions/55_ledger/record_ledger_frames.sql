-- Owns: the ledger frames of one WebSocket read, in record_batch's transaction: every
-- NEW_ACCOUNT_HISTORY_RECORD in one record_transactions call, every BALANCE_UPDATE in one
-- record_balances call, every NEW_PENDING_RECEIVE in one record_pending_receives call (three
-- statements per read at most, none when the read holds no ledger frame). One result row per ledger
-- frame, in record_batch's shape: the transactions' outcomes (`recorded`, `duplicate`, `conflict`,
-- `malformed`), `recorded` for balances and pending receives (an older balance is recorded as held
-- already: nothing changes). Order rows are not touched. Internal: record_batch.
CREATE OR REPLACE FUNCTION lth_pvr.record_ledger_frames(
    p_exchange_account_id uuid,
    p_frames jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (frame_index int, frame_type text, exchange_order_id uuid, outcome text, new_status text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_at    int[];
    v_items jsonb;
BEGIN
    IF NOT jsonb_path_exists(p_frames, 'lax $[*] ? (@.type == "NEW_ACCOUNT_HISTORY_RECORD" || '
                                       '@.type == "BALANCE_UPDATE" || @.type == "NEW_PENDING_RECEIVE")') THEN
        RETURN;
    END IF;
    -- Transactions: outcome per frame from record_transactions' item index.
    SELECT array_agg(f.n - 1 ORDER BY f.n), jsonb_agg(f.frame->'data' ORDER BY f.n)
      INTO v_at, v_items
      FROM jsonb_array_elements(p_frames) WITH ORDINALITY AS f(frame, n)
     WHERE f.frame->>'type' = 'NEW_ACCOUNT_HISTORY_RECORD';
    IF v_at IS NOT NULL THEN
        RETURN QUERY
        SELECT v_at[t.item_index + 1], 'NEW_ACCOUNT_HISTORY_RECORD'::text, NULL::uuid, t.outcome, NULL::text
          FROM lth_pvr.record_transactions(p_exchange_account_id, 'ws', v_items, p_now) t;
    END IF;

    PERFORM lth_pvr.record_balances(p_exchange_account_id, 'ws',
              (SELECT jsonb_agg(f.frame->'data') FROM jsonb_array_elements(p_frames) f(frame)
                WHERE f.frame->>'type' = 'BALANCE_UPDATE'), p_now);
    PERFORM lth_pvr.record_pending_receives(p_exchange_account_id,
              (SELECT jsonb_agg(f.frame->'data') FROM jsonb_array_elements(p_frames) f(frame)
                WHERE f.frame->>'type' = 'NEW_PENDING_RECEIVE'), p_now);
    RETURN QUERY
    SELECT (f.n - 1)::int, f.frame->>'type', NULL::uuid,
           CASE WHEN f.frame->>'type' = 'BALANCE_UPDATE'
                     AND (lth_pvr.ledger_balance_row(p_exchange_account_id, 'ws', f.frame->'data', p_now)).currency IS NULL
                    THEN 'malformed'
                WHEN jsonb_typeof(f.frame->'data') = 'object' THEN 'recorded' ELSE 'malformed' END, NULL::text
      FROM jsonb_array_elements(p_frames) WITH ORDINALITY AS f(frame, n)
     WHERE f.frame->>'type' IN ('BALANCE_UPDATE', 'NEW_PENDING_RECEIVE');
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_ledger_frames(uuid, jsonb, timestamptz) FROM PUBLIC;
