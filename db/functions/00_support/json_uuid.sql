-- Owns: reading a customerOrderId as our intent_id (a uuid); anything else gives NULL, never raises.
CREATE OR REPLACE FUNCTION lth_pvr.json_uuid(p_value jsonb)
RETURNS uuid
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF jsonb_typeof(p_value) = 'string'
       AND (p_value #>> '{}') ~* '^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$' THEN
        RETURN (p_value #>> '{}')::uuid;
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.json_uuid(jsonb) FROM PUBLIC;
