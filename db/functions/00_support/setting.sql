-- Owns: reading one operator-tunable value from lth_pvr.settings (raises when the name is unknown:
-- a missing threshold is a deployment error, not something to default silently).
CREATE OR REPLACE FUNCTION lth_pvr.setting(p_name text)
RETURNS numeric
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_value numeric;
BEGIN
    SELECT s.value INTO v_value FROM lth_pvr.settings s WHERE s.name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'setting % is missing from lth_pvr.settings', p_name
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v_value;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.setting(text) FROM PUBLIC;
