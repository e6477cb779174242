-- Owns: the alert clock_skew, critical: live workers whose signed requests VALR refused and whose clock is off VALR's
-- (record_clock_check): they place nothing until it is fixed.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_clock_skew(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'clock_skew'::text, 'critical'::text, round(x.worst, 1), NULL::numeric,
           format('clock skew: VALR refuses the signed requests of %s worker(s) whose clock is off VALR''s '
                  '(%s); they place nothing until the clock is fixed (NTP); orders stay pending',
                  x.n, left(x.workers, 400))
      FROM (SELECT (SELECT lth_pvr.setting('worker_heartbeat_seconds')) AS v) s,
           LATERAL (SELECT count(*) AS n,
                           string_agg(format('%s %s s', w.worker_id, round(w.clock_skew_s, 1)), ', '
                                      ORDER BY w.worker_id) AS workers,
                           max(abs(w.clock_skew_s)) AS worst
                      FROM lth_pvr.workers w
                     WHERE w.clock_refused_at IS NOT NULL AND lth_pvr.worker_is_live(w.stopped_at, w.last_seen_at, make_interval(secs => s.v::int), p_now)) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_clock_skew(timestamptz) FROM PUBLIC;
