-- Owns: the only deletion from order_events (retention: event_log_retention_days), and the
-- trimming of safety_net_runs and, when pg_cron lives in this database, cron.job_run_details (never
-- pruned by pg_cron itself). The append-only trigger lets the DELETE through only while the
-- transaction-local flag lth_pvr.pruning is on. Returns how many events were deleted.
CREATE OR REPLACE FUNCTION lth_pvr.prune_event_log(p_now timestamptz DEFAULT now())
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_cutoff  timestamptz := p_now - make_interval(days => lth_pvr.setting('event_log_retention_days')::int);
    v_deleted int;
BEGIN
    PERFORM set_config('lth_pvr.pruning', 'on', true);
    DELETE FROM lth_pvr.order_events e WHERE e.received_at < v_cutoff;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    PERFORM set_config('lth_pvr.pruning', 'off', true);

    DELETE FROM lth_pvr.safety_net_runs r WHERE r.ran_at < v_cutoff;
    IF to_regclass('cron.job_run_details') IS NOT NULL THEN
        EXECUTE 'DELETE FROM cron.job_run_details WHERE end_time < $1' USING v_cutoff;
    END IF;
    RETURN v_deleted;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.prune_event_log(timestamptz) FROM PUBLIC;
