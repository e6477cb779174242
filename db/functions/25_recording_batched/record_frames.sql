-- Owns: the fast path of record_batch — the frames of one WebSocket read applied in order, with the
-- common frames recorded in memory and written set-based: one INSERT of their fills, one INSERT of
-- their event rows and one UPDATE per touched order, instead of four to six statements per frame.
-- Internal; record_batch calls it (and, should it raise, redoes the read frame by frame).
--
-- VALR sends, for every fill, a NEW_ACCOUNT_TRADE, an ORDER_STATUS_UPDATE in the status the order
-- already has and an OPEN_ORDERS_UPDATE listing every open order: at a few thousand events a second
-- the per-statement cost (executor start, constraint checks, index maintenance of a new order row
-- version per frame) is what limits throughput. A frame is "common" when its outcome cannot depend on
-- anything but the account's order rows locked here, and it changes no status:
--   NEW_ACCOUNT_TRADE    a well-formed trade of one of these orders, within its quantity
--                        -> `recorded`, or `duplicate` when its trade id is already held
--   ORDER_STATUS_UPDATE  one of these orders, named by orderId, in the status it already has
--                        -> `unchanged` (apply_order_payload's fast path)
--   OPEN_ORDERS_UPDATE   every item such an order in its status, and every submitted order of the
--                        account listed by its orderId (so none is missing)
--                        -> `unchanged` per item (reconcile_open_orders' unchanged case)
--   BALANCE_UPDATE, NEW_ACCOUNT_HISTORY_RECORD, NEW_PENDING_RECEIVE (the ledger's:
--   record_batch records them through record_ledger_frames), AUTHENTICATED, PONG, SUBSCRIBED -> `ignored`
-- Every other frame (a status change, an overfill, an unreadable fee, a frame naming an order we do
-- not hold, a list with an order missing, a malformed frame, …) goes to record_frame — the general
-- path — after the effects gathered so far are written; the order rows are then read again.
-- It decides nothing itself: whether a frame is common and what it leaves are the general path's own
-- pieces (fill_problem, order_fill_row, order_after_fill, fill_outcome for a trade; payload_is_unchanged,
-- order_after_unchanged, open_item_already_confirmed for an order object), so the outcomes, event rows
-- (in frame order), fills and order columns are the ones record_frame gives;
-- tests/test_sql_batch_fast.py compares the two paths on the same reads, and
-- tests/test_sql_recording_one_home.py checks that no rule of the pieces is copied here.
CREATE OR REPLACE FUNCTION lth_pvr.record_frames(
    p_exchange_account_id uuid,
    p_frames jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (frame_index int, frame_type text, exchange_order_id uuid, outcome text, new_status text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_named   text[];                       -- every orderId the read names (read at the first lock)
    v_lists   boolean;                      -- whether the read holds an open-orders list
    v_loaded  boolean := false;
    v_orders  lth_pvr.exchange_orders[];    -- the account's locked order rows, changed in memory
    v_ext     text[];                       -- their ext_order_ids, for array_position
    v_dirty   boolean[];                    -- which of them to write back
    v_held    text[];                       -- trade ids already in order_fills (or recorded here)
    -- Appended by element assignment (in place); `||` would copy the array on every frame.
    v_fills   lth_pvr.order_fills[] := '{}';
    v_events  lth_pvr.order_events[] := '{}';
    v_nfills  int := 0;
    v_nevents int := 0;
    v_frame   jsonb;
    v_type    text;
    v_data    jsonb;
    v_k       int;
    v_at      int[];                        -- an open-orders list's items: their positions in v_orders
    v_common  boolean;
    v_fill    lth_pvr.order_fills;          -- a trade's fill row (order_fill_row)
    v_after   lth_pvr.exchange_orders;      -- its order row after it (order_after_fill)
    v_said    record;                       -- its outcome (fill_outcome)
BEGIN
    FOR i IN 0 .. jsonb_array_length(p_frames) - 1 LOOP
        v_frame := p_frames->i;
        v_type := NULL;
        IF jsonb_typeof(v_frame) = 'object' AND jsonb_typeof(v_frame->'type') = 'string' THEN
            v_type := left(v_frame->>'type', 100);
            v_data := v_frame->'data';
        END IF;

        -- The result rows of common frames are the OUT variables (RETURN NEXT: no statement per row).
        frame_index := i;
        frame_type := v_type;
        IF v_type IN ('BALANCE_UPDATE', 'NEW_ACCOUNT_HISTORY_RECORD', 'NEW_PENDING_RECEIVE', 'AUTHENTICATED', 'PONG', 'SUBSCRIBED') THEN
            exchange_order_id := NULL; outcome := 'ignored'; new_status := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;

        IF v_type IN ('NEW_ACCOUNT_TRADE', 'ORDER_STATUS_UPDATE', 'OPEN_ORDERS_UPDATE') AND NOT v_loaded THEN
            -- Locked in one statement, in id order (record_frame locks one row at a time). Every
            -- submitted order of the account only when the read holds an open-orders list (which
            -- must name each): with 1,000 open orders, a fill's read locks its own order, not 1,000.
            -- A read of ledger frames only never gets here: it pays none of this (nor the write).
            IF v_named IS NULL THEN
                v_named := lth_pvr.frames_order_ids(p_frames);
                v_lists := jsonb_path_exists(p_frames, 'lax $[*] ? (@.type == "OPEN_ORDERS_UPDATE")');
            END IF;
            SELECT coalesce(array_agg(s.o ORDER BY (s.o).exchange_order_id), '{}'),
                   coalesce(array_agg((s.o).ext_order_id ORDER BY (s.o).exchange_order_id), '{}')
              INTO v_orders, v_ext
              FROM (SELECT o FROM lth_pvr.exchange_orders o
                     WHERE o.exchange_account_id = p_exchange_account_id
                       -- The account's exchange (every order's, exchange_of_row) named, so an orderId is
                       -- one probe of ext_order_id_must_be_unique (exchange, ext_order_id), not a scan of
                       -- every order's entry: per read, growing with the history.
                       AND o.exchange = (SELECT a.exchange FROM lth_pvr.exchange_accounts a
                                          WHERE a.exchange_account_id = p_exchange_account_id)
                       AND ((v_lists AND o.status = 'submitted') OR o.ext_order_id = ANY (v_named))
                       FOR UPDATE) AS s;
            v_dirty := array_fill(false, ARRAY[cardinality(v_orders)]);
            v_held := NULL;  -- read at this load's first trade: a read without one never looks
            v_loaded := true;
        END IF;

        v_common := false;
        IF v_type = 'NEW_ACCOUNT_TRADE' AND jsonb_typeof(v_data) = 'object' THEN
            -- record_fill's pieces: the fill row, its validator, the order row after it, its outcome.
            v_k := array_position(v_ext, lth_pvr.json_text(v_data->'orderId'));
            IF v_k IS NOT NULL THEN
                v_fill := lth_pvr.order_fill_row(v_orders[v_k].exchange_order_id, v_data, 'ws', p_now);
                v_common := lth_pvr.fill_problem(v_fill) IS NULL;
            END IF;
            IF v_common AND v_held IS NULL THEN
                v_held := lth_pvr.frames_held_trade_ids(p_frames);  -- under this load's locks
            END IF;
            IF v_common AND v_fill.trade_id = ANY (v_held) THEN
                v_nevents := v_nevents + 1;
                v_events[v_nevents] := lth_pvr.order_event_row(v_orders[v_k], 'trade', 'duplicate', v_data, p_now);
                exchange_order_id := v_orders[v_k].exchange_order_id; outcome := 'duplicate'; new_status := NULL;
                RETURN NEXT;
            ELSIF v_common THEN
                v_after := lth_pvr.order_after_fill(v_orders[v_k], v_fill, p_now);
                v_said := lth_pvr.fill_outcome(v_after, v_data);
                -- An overfill or an unreadable fee has something to say: record_fill's.
                v_common := v_said.outcome = 'recorded' AND v_said.detail IS NULL;
                IF v_common THEN
                    v_nfills := v_nfills + 1;
                    v_fills[v_nfills] := v_fill;
                    v_held := v_held || v_fill.trade_id;
                    v_orders[v_k] := v_after;
                    v_dirty[v_k] := true;
                    v_nevents := v_nevents + 1;
                    v_events[v_nevents] := lth_pvr.order_event_row(v_after, 'trade', 'recorded', v_data, p_now);
                    exchange_order_id := v_after.exchange_order_id; outcome := 'recorded'; new_status := NULL;
                    RETURN NEXT;
                END IF;
            END IF;
        ELSIF v_type = 'ORDER_STATUS_UPDATE' AND jsonb_typeof(v_data) = 'object' THEN
            v_k := array_position(v_ext, lth_pvr.json_text(v_data->'orderId'));
            v_common := v_k IS NOT NULL AND lth_pvr.payload_is_unchanged(v_data, v_orders[v_k]);
            IF v_common THEN
                v_orders[v_k] := lth_pvr.order_after_unchanged(v_orders[v_k], v_data, false, 'ws', p_now);
                v_dirty[v_k] := true;
                v_nevents := v_nevents + 1;
                v_events[v_nevents] := lth_pvr.order_event_row(v_orders[v_k], 'order_status', 'unchanged', v_data, p_now);
                exchange_order_id := v_orders[v_k].exchange_order_id; outcome := 'unchanged';
                new_status := v_orders[v_k].status;
                RETURN NEXT;
            END IF;
        ELSIF v_type = 'OPEN_ORDERS_UPDATE' AND jsonb_typeof(v_data) = 'array' THEN
            v_at := lth_pvr.open_list_positions(v_data, v_ext);
            v_common := lth_pvr.open_list_is_unchanged(v_data, v_orders, v_at);
            IF v_common THEN
                FOR v_item IN 0 .. jsonb_array_length(v_data) - 1 LOOP
                    v_k := v_at[v_item + 1];
                    -- reconcile_open_orders' rule: an order confirmed by this very read, watched,
                    -- owing nothing, is not refreshed again (and gets no event row).
                    IF NOT lth_pvr.open_item_already_confirmed(v_data->v_item, v_orders[v_k], p_now) THEN
                        v_orders[v_k] := lth_pvr.order_after_unchanged(v_orders[v_k], v_data->v_item, true, 'ws', p_now);
                        v_dirty[v_k] := true;
                        v_nevents := v_nevents + 1;
                        v_events[v_nevents] := lth_pvr.order_event_row(v_orders[v_k], 'open_order', 'unchanged',
                                                                       v_data->v_item, p_now);
                    END IF;
                    exchange_order_id := v_orders[v_k].exchange_order_id; outcome := 'unchanged'; new_status := NULL;
                    RETURN NEXT;
                END LOOP;
            END IF;
        END IF;

        IF NOT v_common THEN
            -- The general path: write what was gathered, let record_frame own this frame, read again.
            IF v_nevents > 0 OR v_nfills > 0 OR true = ANY (v_dirty) THEN
                PERFORM lth_pvr.write_frame_effects(v_orders, v_dirty, v_fills, v_events);
            END IF;
            v_fills := '{}';
            v_events := '{}';
            v_nfills := 0;
            v_nevents := 0;
            v_loaded := false;
            v_orders := '{}';
            v_ext := '{}';
            v_dirty := '{}';
            RETURN QUERY SELECT * FROM lth_pvr.record_frame(p_exchange_account_id, i, v_frame, p_now);
        END IF;
    END LOOP;
    -- A read that gathered nothing (ledger frames only, pongs, lists already confirmed) writes nothing.
    IF v_nevents > 0 OR v_nfills > 0 OR true = ANY (v_dirty) THEN
        PERFORM lth_pvr.write_frame_effects(v_orders, v_dirty, v_fills, v_events);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_frames(uuid, jsonb, timestamptz) FROM PUBLIC;
