-- Owns: reading one scalar of a hostile VALR payload as text (strings and numbers only; objects,
-- arrays, booleans and nulls give NULL). Never raises.
CREATE OR REPLACE FUNCTION lth_pvr.json_text(p_value jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN jsonb_typeof(p_value) IN ('string', 'number') THEN p_value #>> '{}' END
$$;

REVOKE ALL ON FUNCTION lth_pvr.json_text(jsonb) FROM PUBLIC;
