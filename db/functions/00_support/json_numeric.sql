-- Owns: reading a VALR number (a JSON string such as "0.0001", or a JSON number) as numeric.
-- Non-numeric strings, NaN, Infinity, wrong types and missing keys give NULL; never raises.
-- plpgsql, not SQL: an inlined SQL CASE could constant-fold the cast of a bad literal and raise.
CREATE OR REPLACE FUNCTION lth_pvr.json_numeric(p_value jsonb)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v_text text;
BEGIN
    IF jsonb_typeof(p_value) = 'number' THEN
        RETURN (p_value #>> '{}')::numeric;
    END IF;
    IF jsonb_typeof(p_value) = 'string' THEN
        v_text := btrim(p_value #>> '{}');
        -- VALR's own shape, digits with at most one point ("0.0001", "1149500"), told by translate():
        -- the regular expression below costs more, and a fill reads about twelve numbers (figure 2).
        -- Every string this accepts the expression accepts too (a digit, at most one point).
        IF translate(v_text, '0123456789', '') IN ('', '.') AND v_text NOT IN ('', '.')
           AND length(v_text) <= 100 THEN
            RETURN v_text::numeric;
        END IF;
        -- Plain decimals with an optional short exponent: no NaN, no Infinity, no 1e999999.
        IF v_text ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$' AND length(v_text) <= 100 THEN
            RETURN v_text::numeric;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.json_numeric(jsonb) FROM PUBLIC;
