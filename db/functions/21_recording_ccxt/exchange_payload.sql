-- Owns: which words a payload speaks, at the entry of the recording path: ccxt's unified order or
-- trade (it carries `info` — the exchange's own answer — and `symbol`; VALR's never do) becomes the
-- words the recording rules read (ccxt_order_payload: an order has `status` or `filled`; else
-- ccxt_trade_payload); anything else, VALR's payloads included, is returned unchanged. Applied once by
-- apply_order_payload (every order word: record_order_update, record_poll and the lost-placement
-- look-up, reconcile_open_orders, record_exchange_events), record_fill (every trade), reconcile_open_orders
-- (its list, before it reads the ids) and record_placement (the answer it keeps); a converted
-- payload has neither key, so converting twice changes nothing. record_frames, VALR's fast path, never sees a
-- ccxt payload. Internal.
CREATE OR REPLACE FUNCTION lth_pvr.exchange_payload(p_payload jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN jsonb_typeof(p_payload) = 'object' AND p_payload ? 'info' AND p_payload ? 'symbol'
                THEN CASE WHEN p_payload ? 'status' OR p_payload ? 'filled'
                          THEN lth_pvr.ccxt_order_payload(p_payload)
                          ELSE lth_pvr.ccxt_trade_payload(p_payload) END
                ELSE p_payload END
$$;

REVOKE ALL ON FUNCTION lth_pvr.exchange_payload(jsonb) FROM PUBLIC;
