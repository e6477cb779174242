-- Owns: the alert pending_unplaced, critical: pending orders older than pending_unplaced_minutes.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_pending_unplaced(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'pending_unplaced'::text, 'critical'::text, round(p.oldest, 2), s.v,
           format('%s pending order(s) not placed within %s minutes', p.n, s.v)
      FROM (SELECT (SELECT lth_pvr.setting('pending_unplaced_minutes')) AS v) s,
           LATERAL (SELECT count(*) AS n, max(extract(epoch FROM p_now - o.created_at) / 60) AS oldest
                      FROM lth_pvr.exchange_orders o
                     WHERE o.status = 'pending'
                       AND o.created_at < p_now - make_interval(mins => s.v::int)) p
     WHERE p.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_pending_unplaced(timestamptz) FROM PUBLIC;
