-- Owns: the status text of a VALR order object: `orderStatusType` (ORDER_STATUS_UPDATE, the status
-- endpoint), else `status` (an open-orders item). NULL when absent or unreadable.
-- Internal; payload_status and read_order_payload call it. SQL, so a caller's expression inlines it.
CREATE OR REPLACE FUNCTION lth_pvr.payload_status_text(p_payload jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(lth_pvr.json_text(p_payload->'orderStatusType'), lth_pvr.json_text(p_payload->'status'))
$$;

REVOKE ALL ON FUNCTION lth_pvr.payload_status_text(jsonb) FROM PUBLIC;
