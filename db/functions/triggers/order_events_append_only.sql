-- Owns: order_events being append-only. UPDATE is always refused; DELETE and TRUNCATE only while
-- prune_event_log has set the transaction-local flag lth_pvr.pruning = on.
CREATE OR REPLACE FUNCTION lth_pvr.order_events_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') AND current_setting('lth_pvr.pruning', true) = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD END;
    END IF;
    RAISE EXCEPTION 'order_events is append-only: % refused (retention pruning is lth_pvr.prune_event_log)', TG_OP
        USING ERRCODE = 'check_violation', CONSTRAINT = 'order_events_must_be_append_only',
              TABLE = 'order_events', SCHEMA = 'lth_pvr';
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_events_append_only() FROM PUBLIC;

CREATE OR REPLACE TRIGGER order_events_append_only
    BEFORE UPDATE OR DELETE ON lth_pvr.order_events
    FOR EACH ROW EXECUTE FUNCTION lth_pvr.order_events_append_only();

CREATE OR REPLACE TRIGGER order_events_no_truncate
    BEFORE TRUNCATE ON lth_pvr.order_events
    FOR EACH STATEMENT EXECUTE FUNCTION lth_pvr.order_events_append_only();
