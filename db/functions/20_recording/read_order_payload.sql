-- Owns: reading and validating one VALR order object (ORDER_STATUS_UPDATE.data, the status endpoint's
-- answer, an open-orders item) — the one validator of an order payload: its status text
-- (`orderStatusType`, or an open-orders item's `status`) and what it maps to (valr_status), its
-- originalQuantity when present. `refusal` says why it cannot be applied: `unknown_status` (a status
-- valr_status does not know), else `malformed` (an originalQuantity that is not a positive number),
-- with the event's detail; NULL when it can be.
-- Internal; apply_order_payload and payload_is_unchanged call it.
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
    status_text := coalesce(lth_pvr.json_text(p_payload->'orderStatusType'), lth_pvr.json_text(p_payload->'status'));
    new_status := lth_pvr.valr_status(status_text);
    IF new_status IS NULL THEN
        refusal := 'unknown_status';
        detail := format('unknown status %L', left(coalesce(status_text, '<missing>'), 100));
    ELSIF coalesce(jsonb_typeof(p_payload->'originalQuantity'), 'null') <> 'null' THEN
        original_qty := lth_pvr.json_numeric(p_payload->'originalQuantity');
        IF original_qty IS NULL OR original_qty <= 0 THEN
            refusal := 'malformed';
            detail := 'originalQuantity is not a positive number';
        END IF;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.read_order_payload(jsonb) FROM PUBLIC;
