-- Owns: one read of ccxt's account stream (watch_my_trades, watch_orders) for a ccxt account's
-- session, recorded with VALR's rules in one transaction: the trades first (record_fill: a fill is
-- held before the order's final word, so a cancelled order's fallback replaces exactly what did not
-- execute), then the orders (apply_order_payload, kind order_status), both through exchange_payload
-- and with source `ws` (the orders are watched from their first word, as record_batch marks them).
-- A trade names its order by the exchange's id only: when the same read holds that order, its
-- clientOrderId is added, so a trade racing the placement answer still finds its order. Counts
-- ws_sessions.events (orders + trades) and .reads; one NOTIFY lth_pvr_recorded ({"session","frames","last"})
-- when the setting notify_recorded is 1 (record_batch says why it is shipped 0).
-- One bad item does not lose the read: each is recorded in its own subtransaction, an error logged
-- with outcome `error` (SQLSTATE) and skipped, as record_batch does frame by frame.
-- Returns one row per item, in the order recorded: the order, the kind (`trade`, `order_status`),
-- the outcome and the order's status after it. An order event stating only what executed (Kraken's)
-- is completed with the quantity we placed (ccxt_order_completed).
CREATE OR REPLACE FUNCTION lth_pvr.record_exchange_events(
    p_session_id bigint,
    p_orders jsonb,
    p_trades jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, kind text, outcome text, new_status text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_account uuid;
    v_orders  jsonb := CASE WHEN jsonb_typeof(p_orders) = 'array' THEN p_orders ELSE '[]' END;
    v_trades  jsonb := CASE WHEN jsonb_typeof(p_trades) = 'array' THEN p_trades ELSE '[]' END;
    v_n       int;
    v_item    jsonb;
    v_kind    text;
    v_id      uuid;
    v_outcome text;
    v_last    text;
BEGIN
    v_n := jsonb_array_length(v_orders) + jsonb_array_length(v_trades);
    UPDATE lth_pvr.ws_sessions s SET events = s.events + v_n, reads = s.reads + 1
     WHERE s.session_id = p_session_id
    RETURNING s.exchange_account_id INTO v_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'record_exchange_events: no WebSocket session %', p_session_id USING ERRCODE = 'no_data_found';
    END IF;

    FOR v_item, v_kind IN
        SELECT x.item, x.kind FROM (
            SELECT CASE WHEN jsonb_typeof(t.item) = 'object' AND NOT t.item ? 'clientOrderId' THEN
                        t.item || coalesce((SELECT jsonb_build_object('clientOrderId',
                                                                      lth_pvr.ccxt_order_payload(o)->'customerOrderId')
                                              FROM jsonb_array_elements(v_orders) AS o
                                             WHERE jsonb_typeof(o) = 'object' AND o->'id' = t.item->'order'
                                               AND lth_pvr.ccxt_order_payload(o) ? 'customerOrderId' LIMIT 1), '{}')
                        ELSE t.item END AS item, 'trade' AS kind, 0 AS part, t.n
              FROM jsonb_array_elements(v_trades) WITH ORDINALITY AS t(item, n)
            UNION ALL
            SELECT o.item, 'order_status', 1, o.n FROM jsonb_array_elements(v_orders) WITH ORDINALITY AS o(item, n)
        ) x
        ORDER BY x.part, x.n
    LOOP
        BEGIN
            IF v_kind = 'trade' THEN
                SELECT f.exchange_order_id, f.outcome INTO v_id, v_outcome
                  FROM lth_pvr.record_fill(v_account, 'ws', v_item, p_now) f;
            ELSE
                -- After the trades: an event stating only what executed is completed with what we placed.
                SELECT a.exchange_order_id, a.outcome INTO v_id, v_outcome
                  FROM lth_pvr.apply_order_payload(v_account, 'ws', 'order_status',
                                                   lth_pvr.ccxt_order_completed(v_account, v_item), NULL, p_now) a;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            v_id := NULL;
            v_outcome := 'error';
            PERFORM lth_pvr.log_order_event(NULL, v_account, 'ws', v_kind, 'error', NULL, NULL, NULL,
                SQLSTATE || ': ' || SQLERRM, v_item, p_now);
        END;
        v_last := left(lth_pvr.json_text(v_item->'id'), 100);
        RETURN QUERY SELECT v_id, v_kind, v_outcome,
                            (SELECT o.status FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = v_id);
    END LOOP;

    IF v_n > 0 AND lth_pvr.setting('notify_recorded') = 1 THEN
        PERFORM pg_notify('lth_pvr_recorded', jsonb_build_object(
            'session', p_session_id, 'frames', v_n, 'last', v_last)::text);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_exchange_events(bigint, jsonb, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_exchange_events(bigint, jsonb, jsonb, timestamptz) TO valr_worker;
