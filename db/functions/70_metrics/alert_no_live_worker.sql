-- Owns: the alert no_live_worker, critical: no worker alive (worker_is_live within worker_heartbeat_seconds): none seen, or
-- every worker stopped (measured: live workers; threshold: at least 1).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_no_live_worker(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'no_live_worker'::text, 'critical'::text, ws.live, 1::numeric,
           CASE WHEN ws.since_last IS NULL THEN 'no worker has ever reported a heartbeat'
                WHEN ws.stale = 0 AND ws.stopped > 0
                    THEN format('every worker stopped; the last heartbeat was %s seconds ago', round(ws.since_last))
                ELSE format('no worker heartbeat for %s seconds (limit %s)', round(ws.since_last), s.v) END
      FROM (SELECT (SELECT lth_pvr.setting('worker_heartbeat_seconds')) AS v) s,
           LATERAL (SELECT count(*) FILTER (WHERE lth_pvr.worker_is_live(w.stopped_at, w.last_seen_at, make_interval(secs => s.v::int), p_now)) AS live,
                           count(*) FILTER (WHERE w.stopped_at IS NULL AND NOT lth_pvr.worker_is_live(w.stopped_at, w.last_seen_at, make_interval(secs => s.v::int), p_now)) AS stale,
                           count(*) FILTER (WHERE w.stopped_at IS NOT NULL) AS stopped,
                           extract(epoch FROM p_now - max(w.last_seen_at)) AS since_last
                      FROM lth_pvr.workers w) ws
     WHERE ws.live = 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_no_live_worker(timestamptz) FROM PUBLIC;
