-- Owns: the alert ws_coverage, critical: 7-day WebSocket coverage % below ws_coverage_min_pct (orders > 0).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_ws_coverage(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'ws_coverage'::text, 'critical'::text, cov.ws_coverage_pct, s.v,
           format('WebSocket setup failing: %s of %s orders submitted in 7 days were watched by a WebSocket',
                  cov.ws_monitored, cov.total_orders)
      FROM lth_pvr.metric_ws_coverage(7, p_now) cov, (SELECT (SELECT lth_pvr.setting('ws_coverage_min_pct')) AS v) s
     WHERE cov.ws_coverage_pct < s.v
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_ws_coverage(timestamptz) FROM PUBLIC;
