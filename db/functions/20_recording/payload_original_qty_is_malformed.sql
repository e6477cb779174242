-- Owns: a VALR order object whose originalQuantity is there (not JSON null) but not a positive number:
-- such a payload is `malformed` and applies nothing.
-- Internal; read_order_payload and payload_is_unchanged call it. SQL, so a caller's expression inlines it.
CREATE OR REPLACE FUNCTION lth_pvr.payload_original_qty_is_malformed(p_payload jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(jsonb_typeof(p_payload->'originalQuantity'), 'null') <> 'null'
       AND NOT coalesce(lth_pvr.json_numeric(p_payload->'originalQuantity') > 0, false)
$$;

REVOKE ALL ON FUNCTION lth_pvr.payload_original_qty_is_malformed(jsonb) FROM PUBLIC;
