-- Owns: whether a VALR order object about one of our orders says nothing new about its status — it can
-- be applied (a known status: payload_status; no malformed originalQuantity:
-- payload_original_qty_is_malformed, the questions read_order_payload asks) and its status is the one
-- the order already has: the `unchanged` case of apply_order_payload, which decides it with this
-- function, as record_frames does (the fast path records such a payload in memory).
-- Internal; apply_order_payload, record_frames and open_list_is_unchanged call it with the order the
-- payload names. SQL, so it is inlined where it is called (up to once per open-orders item).
CREATE OR REPLACE FUNCTION lth_pvr.payload_is_unchanged(p_payload jsonb, p_order lth_pvr.exchange_orders)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(jsonb_typeof(p_payload) = 'object', false)
       AND coalesce(lth_pvr.payload_status(p_payload) = p_order.status, false)
       AND NOT lth_pvr.payload_original_qty_is_malformed(p_payload)
$$;

REVOKE ALL ON FUNCTION lth_pvr.payload_is_unchanged(jsonb, lth_pvr.exchange_orders) FROM PUBLIC;
