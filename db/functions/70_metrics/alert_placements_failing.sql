-- Owns: the alert placements_failing, critical: placements VALR refused (placing -> failed) in the last hour above
-- placement_failures_per_hour_max.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_placements_failing(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'placements_failing'::text, 'critical'::text, x.n, s.v,
           format('%s placement(s) refused by VALR in the last hour: see failed_reason in lth_pvr.v_orders', x.n)
      FROM (SELECT count(*) AS n
              FROM lth_pvr.order_events e
             WHERE e.old_status = 'placing' AND e.new_status = 'failed' AND e.outcome = 'applied'
               AND e.received_at > p_now - interval '1 hour' AND e.received_at <= p_now) x,
           (SELECT (SELECT lth_pvr.setting('placement_failures_per_hour_max')) AS v) s
     WHERE x.n > s.v
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_placements_failing(timestamptz) FROM PUBLIC;
