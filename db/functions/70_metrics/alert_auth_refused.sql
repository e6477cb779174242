-- Owns: the alert auth_refused, critical: a live worker whose API key VALR refused (it places nothing until the key is
-- accepted again).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_auth_refused(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'auth_refused'::text, 'critical'::text, x.n, 0::numeric,
           format('VALR refused the API key of %s worker(s); their pending orders wait: %s', x.n, left(x.detail, 400))
      FROM (SELECT (SELECT lth_pvr.setting('worker_heartbeat_seconds')) AS v) s,
           LATERAL (SELECT count(*) AS n,
                           string_agg(w.worker_id || ': ' || coalesce(w.auth_refused_reason, '?'), '; '
                                      ORDER BY w.worker_id) AS detail
                      FROM lth_pvr.workers w
                     WHERE w.auth_refused_at IS NOT NULL AND lth_pvr.worker_is_live(w.stopped_at, w.last_seen_at, make_interval(secs => s.v::int), p_now)) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_auth_refused(timestamptz) FROM PUBLIC;
