-- Owns: the ledger frames of one WebSocket read, in record_batch's transaction: every
-- NEW_ACCOUNT_HISTORY_RECORD in one record_transactions call, every BALANCE_UPDATE in one
-- write_balances call (each frame's row built once, by ledger_balance_row: NULL is its `malformed`),
-- every NEW_PENDING_RECEIVE in one record_pending_receives call (the frames sorted by type in one pass
-- over the read; a call only for a type the read holds). One result row per ledger frame, in
-- record_batch's shape: the transactions' outcomes (`recorded`, `duplicate`, `conflict`, `malformed`),
-- `recorded` or `malformed` for balances and pending receives (an older balance is `recorded`: held
-- already, nothing changes). Order rows are not touched; a malformed frame gets its
-- order_events row (kind `frame`, outcome `malformed`), like every payload that fails validation.
-- Internal: record_batch.
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
    v_at       int[];       -- the history records' positions in the read
    v_items    jsonb;       -- their data
    v_balances lth_pvr.balances[];  -- their rows (NULL: malformed)
    v_pending  jsonb;
    v_outcomes text[];
    v_other    int[];       -- the balances' and pending deposits' positions, types, and verdicts
    v_other_types text[];
    v_other_bad boolean[];
BEGIN
    -- One pass over the read sorts the ledger's frames by type (none: nothing below runs); a balance's
    -- row is built once, for its verdict and its write.
    SELECT array_agg(f.n - 1 ORDER BY f.n) FILTER (WHERE f.t = 'NEW_ACCOUNT_HISTORY_RECORD'),
           jsonb_agg(f.frame->'data' ORDER BY f.n) FILTER (WHERE f.t = 'NEW_ACCOUNT_HISTORY_RECORD'),
           array_agg(f.balance ORDER BY f.n) FILTER (WHERE f.t = 'BALANCE_UPDATE'),
           jsonb_agg(f.frame->'data' ORDER BY f.n) FILTER (WHERE f.t = 'NEW_PENDING_RECEIVE'),
           array_agg((f.n - 1)::int ORDER BY f.n) FILTER (WHERE f.t <> 'NEW_ACCOUNT_HISTORY_RECORD'),
           array_agg(f.t ORDER BY f.n) FILTER (WHERE f.t <> 'NEW_ACCOUNT_HISTORY_RECORD'),
           array_agg(CASE WHEN f.t = 'BALANCE_UPDATE' THEN (f.balance).currency IS NULL
                          ELSE lth_pvr.ledger_frame_is_malformed(f.t, f.frame->'data') END ORDER BY f.n)
               FILTER (WHERE f.t <> 'NEW_ACCOUNT_HISTORY_RECORD')
      INTO v_at, v_items, v_balances, v_pending, v_other, v_other_types, v_other_bad
      FROM (SELECT e.frame, e.n, e.frame->>'type' AS t,
                   CASE WHEN e.frame->>'type' = 'BALANCE_UPDATE'
                        THEN lth_pvr.ledger_balance_row(p_exchange_account_id, 'ws', e.frame->'data', p_now) END AS balance
              FROM jsonb_array_elements(p_frames) WITH ORDINALITY AS e(frame, n)
             OFFSET 0) f  -- not flattened: each balance row built once
     WHERE f.t IN ('NEW_ACCOUNT_HISTORY_RECORD', 'BALANCE_UPDATE', 'NEW_PENDING_RECEIVE');

    -- Transactions: outcome per frame from record_transactions' item index.
    IF v_at IS NOT NULL THEN
        SELECT array_agg(t.outcome ORDER BY t.item_index) INTO v_outcomes
          FROM lth_pvr.record_transactions(p_exchange_account_id, 'ws', v_items, p_now) t;
        RETURN QUERY SELECT v_at[i], 'NEW_ACCOUNT_HISTORY_RECORD'::text, NULL::uuid, v_outcomes[i], NULL::text
                       FROM generate_subscripts(v_at, 1) AS i;
    END IF;
    IF v_balances IS NOT NULL THEN
        PERFORM lth_pvr.write_balances(v_balances);
    END IF;
    IF v_pending IS NOT NULL THEN
        PERFORM lth_pvr.record_pending_receives(p_exchange_account_id, v_pending, p_now);
    END IF;
    -- Balances and pending deposits: each frame judged once.
    IF v_other IS NOT NULL THEN
        RETURN QUERY SELECT v_other[i], v_other_types[i], NULL::uuid,
                            CASE WHEN v_other_bad[i] THEN 'malformed' ELSE 'recorded' END, NULL::text
                       FROM generate_subscripts(v_other, 1) AS i;
    END IF;

    -- A malformed frame gets its order_events row (rare: only then is the read scanned again).
    IF 'malformed' = ANY (v_outcomes) OR true = ANY (v_other_bad) THEN
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, 'ws', 'frame', 'malformed', NULL, NULL, NULL,
                                        'a ' || (p_frames->k->>'type') || ' the ledger cannot read', p_frames->k, p_now)
           FROM (SELECT v_at[i] AS k FROM generate_subscripts(v_at, 1) AS i WHERE v_outcomes[i] = 'malformed'
                 UNION ALL
                 SELECT v_other[i] FROM generate_subscripts(v_other, 1) AS i WHERE v_other_bad[i]) bad
          ORDER BY k;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_ledger_frames(uuid, jsonb, timestamptz) FROM PUBLIC;
