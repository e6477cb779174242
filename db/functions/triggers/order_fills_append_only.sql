-- Owns: order_fills being append-only, like the event log. A fill is VALR's word, recorded once by
-- trade id; deleting or editing one by hand would leave filled_qty wrong and the fill never fetched
-- again. UPDATE, DELETE and TRUNCATE are refused (order_fills_must_be_append_only) except inside
-- correct_fill, which sets the transaction-local flag lth_pvr.fill_correction = on and logs the
-- correction.
CREATE OR REPLACE FUNCTION lth_pvr.order_fills_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND current_setting('lth_pvr.fill_correction', true) = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'order_fills is append-only: % refused (corrections go through lth_pvr.correct_fill, which logs them)', TG_OP
        USING ERRCODE = 'check_violation', CONSTRAINT = 'order_fills_must_be_append_only',
              TABLE = 'order_fills', SCHEMA = 'lth_pvr';
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_fills_append_only() FROM PUBLIC;

CREATE OR REPLACE TRIGGER order_fills_append_only
    BEFORE UPDATE OR DELETE ON lth_pvr.order_fills
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.order_fills_append_only();

CREATE OR REPLACE TRIGGER order_fills_no_truncate
    BEFORE TRUNCATE ON lth_pvr.order_fills
    FOR EACH STATEMENT EXECUTE FUNCTION lth_pvr.order_fills_append_only();
