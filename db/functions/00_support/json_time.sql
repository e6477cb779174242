-- Owns: reading a VALR timestamp ("2025-10-28T10:04:40.566Z", UTC when no zone is given, or unix
-- milliseconds as a number) as timestamptz. Anything else gives NULL; never raises.
-- Independent of the session's TimeZone without a function-level SET TimeZone (a setting change on
-- every call, and this runs once or twice per recorded event): a text without a zone is read as a
-- timestamp at UTC, one with a zone carries its own offset.
CREATE OR REPLACE FUNCTION lth_pvr.json_time(p_value jsonb)
RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v_text text;
    v_zone text[];
BEGIN
    IF jsonb_typeof(p_value) = 'number' THEN
        -- Unix milliseconds, within a sane range (2001 .. 2286).
        IF (p_value #>> '{}')::numeric BETWEEN 1e12 AND 1e13 THEN
            RETURN to_timestamp((p_value #>> '{}')::numeric / 1000);
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_value) <> 'string' THEN
        RETURN NULL;
    END IF;
    v_text := p_value #>> '{}';
    -- VALR's own shape with values that cannot be out of range (day up to 28, hour up to 23, year
    -- from 0001): cast without the exception block below, whose subtransaction costs more than
    -- the rest of this function and runs for every recorded event.
    IF v_text ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z$'
       AND left(v_text, 4) <> '0000' THEN
        RETURN v_text::timestamptz;
    END IF;
    -- The shape, capturing the zone (NULL inside a match when there is none).
    v_zone := regexp_match(v_text,
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$');
    IF v_zone IS NULL THEN
        RETURN NULL;
    END IF;
    -- The shape is right; the values may still be impossible (month 13, February 30).
    BEGIN
        IF v_zone[1] IS NULL THEN
            RETURN v_text::timestamp AT TIME ZONE 'UTC';
        END IF;
        RETURN v_text::timestamptz;
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR data_exception THEN
        RETURN NULL;
    END;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.json_time(jsonb) FROM PUBLIC;
