-- Owns: the alert stale_workers, warning: workers neither stopped nor live (seen within worker_heartbeat_seconds).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_stale_workers(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'stale_workers'::text, 'warning'::text, ws.n, s.v,
           format('worker(s) not stopped but silent for over %s seconds: %s', s.v, left(ws.ids, 400))
      FROM (SELECT (SELECT lth_pvr.setting('worker_heartbeat_seconds')) AS v) s,
           LATERAL (SELECT count(*) AS n, string_agg(w.worker_id, ', ' ORDER BY w.worker_id) AS ids
                      FROM lth_pvr.workers w
                     WHERE w.stopped_at IS NULL AND NOT lth_pvr.worker_is_live(w.stopped_at, w.last_seen_at, make_interval(secs => s.v::int), p_now)) ws
     WHERE ws.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_stale_workers(timestamptz) FROM PUBLIC;
