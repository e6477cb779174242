-- Owns: reading and validating one VALR order object (ORDER_STATUS_UPDATE.data, the status endpoint's
-- answer, an open-orders item) for apply_order_payload: its status text (payload_status_text) and our
-- status for it (payload_status), its originalQuantity. `refusal` says why it cannot be applied:
-- `unknown_status` (payload_status knows none), else `malformed` (payload_original_qty_is_malformed),
-- with the event's detail; NULL when it can be (payload_is_unchanged asks the same two questions).
-- Internal; apply_order_payload calls it.
CREATE OR REPLACE FUNCTION lth_pvr.read_order_payload(
    p_payload jsonb,
    OUT status_text text,
    OUT new_status text,
    OUT original_qty numeric,
    OUT refusal text,
    OUT detail text
)
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    status_text := lth_pvr.payload_status_text(p_payload);
    new_status := lth_pvr.payload_status(p_payload);
    IF new_status IS NULL THEN
        refusal := 'unknown_status';
        detail := format('unknown status %L', left(coalesce(status_text, '<missing>'), 100));
    ELSIF lth_pvr.payload_original_qty_is_malformed(p_payload) THEN
        refusal := 'malformed';
        detail := 'originalQuantity is not a positive number';
    ELSE
        original_qty := lth_pvr.json_numeric(p_payload->'originalQuantity');
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.read_order_payload(jsonb) FROM PUBLIC;
