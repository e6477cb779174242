-- Owns: whether a VALR order object about one of our orders says nothing new about its status — it can
-- be applied (read_order_payload refuses nothing) and maps to the status the order already has: the
-- `unchanged` case of apply_order_payload, which decides it with this function, as record_frames does
-- (the fast path records such a payload in memory).
-- Internal; apply_order_payload, record_frames and open_list_is_unchanged call it with the order the
-- payload names.
CREATE OR REPLACE FUNCTION lth_pvr.payload_is_unchanged(p_payload jsonb, p_order lth_pvr.exchange_orders)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_read record;
BEGIN
    IF jsonb_typeof(p_payload) IS DISTINCT FROM 'object' THEN
        RETURN false;
    END IF;
    v_read := lth_pvr.read_order_payload(p_payload);
    RETURN v_read.refusal IS NULL AND v_read.new_status = p_order.status;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.payload_is_unchanged(jsonb, lth_pvr.exchange_orders) FROM PUBLIC;
