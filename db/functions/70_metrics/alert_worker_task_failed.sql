-- Owns: the alert worker_task_failed, warning: a live worker's long-lived task failed unexpectedly (and was restarted) within
-- task_failure_alert_minutes: read the traceback in its log.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_worker_task_failed(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'worker_task_failed'::text, 'warning'::text, sum(w.task_failures), 0::numeric,
           string_agg(format('%s: %s failure(s), the last at %s: %s', w.worker_id, w.task_failures, w.task_failed_at,
                             w.task_failure), '; ' ORDER BY w.worker_id)
      FROM lth_pvr.workers w, (SELECT (SELECT lth_pvr.setting('task_failure_alert_minutes')) AS v) s
     WHERE w.stopped_at IS NULL
       AND w.task_failed_at > p_now - make_interval(mins => s.v::int)
    HAVING count(*) > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_worker_task_failed(timestamptz) FROM PUBLIC;
