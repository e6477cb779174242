-- Owns: the status a VALR order object says, in our words: valr_status of its status text; NULL for a
-- status we do not know (`unknown_status`).
-- Internal; read_order_payload and payload_is_unchanged call it. SQL, so a caller's expression inlines it.
CREATE OR REPLACE FUNCTION lth_pvr.payload_status(p_payload jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT lth_pvr.valr_status(lth_pvr.payload_status_text(p_payload))
$$;

REVOKE ALL ON FUNCTION lth_pvr.payload_status(jsonb) FROM PUBLIC;
