-- Owns: the alert placing_unresolved, critical: placing orders claimed over placing_unresolved_minutes ago.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_placing_unresolved(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'placing_unresolved'::text, 'critical'::text, round(p.oldest, 2), s.v,
           format('%s order(s) placing for over %s minutes, outcome unknown (claimed by %s)', p.n, s.v, p.workers)
      FROM (SELECT (SELECT lth_pvr.setting('placing_unresolved_minutes')) AS v) s,
           LATERAL (SELECT count(*) AS n, max(extract(epoch FROM p_now - o.claimed_at) / 60) AS oldest,
                           string_agg(DISTINCT o.claimed_by, ', ') AS workers
                      FROM lth_pvr.exchange_orders o
                     WHERE o.status = 'placing'
                       AND o.claimed_at < p_now - make_interval(mins => s.v::int)) p
     WHERE p.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_placing_unresolved(timestamptz) FROM PUBLIC;
