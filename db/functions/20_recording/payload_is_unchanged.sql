-- Owns: whether a VALR order object (ORDER_STATUS_UPDATE.data or an open-orders item) about one of
-- our orders says nothing new about its status: it maps (valr_status) to the status the order
-- already has, and its originalQuantity is absent or positive — the in-memory twin of
-- apply_order_payload's `unchanged` case (tests/test_sql_batch_fast.py compares the two paths).
-- Internal; record_frames and open_list_is_unchanged call it with the order named by the orderId.
CREATE OR REPLACE FUNCTION lth_pvr.payload_is_unchanged(p_payload jsonb, p_order lth_pvr.exchange_orders)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN jsonb_typeof(p_payload) = 'object'
       AND coalesce(lth_pvr.valr_status(coalesce(lth_pvr.json_text(p_payload->'orderStatusType'),
                                                 lth_pvr.json_text(p_payload->'status'))) = p_order.status, false)
       AND (coalesce(jsonb_typeof(p_payload->'originalQuantity'), 'null') = 'null'
            OR coalesce(lth_pvr.json_numeric(p_payload->'originalQuantity') > 0, false));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.payload_is_unchanged(jsonb, lth_pvr.exchange_orders) FROM PUBLIC;
