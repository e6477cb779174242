-- Owns: the alert avg_polls_per_order, critical: 7-day average polls per order above avg_polls_per_order_max.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_avg_polls_per_order(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'avg_polls_per_order'::text, 'critical'::text, polls.avg_polls_per_order, s.v,
           format('WebSocket not working, falling back to excessive polling (max %s polls on one order)', polls.max_polls)
      FROM lth_pvr.metric_polls_per_order(7, p_now) polls, (SELECT (SELECT lth_pvr.setting('avg_polls_per_order_max')) AS v) s
     WHERE polls.avg_polls_per_order > s.v
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_avg_polls_per_order(timestamptz) FROM PUBLIC;
