-- Owns: the alert polls_per_day, warning: REST polls (record_poll calls) in the last 24 h above polls_per_day_max.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_polls_per_day(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'polls_per_day'::text, 'warning'::text, p.n, s.v,
           'possible WebSocket issues: REST polls in the last 24 hours above 2x the expected'
      FROM (SELECT count(*) AS n
              FROM lth_pvr.order_events e
             WHERE e.kind = 'poll' AND e.received_at > p_now - interval '24 hours' AND e.received_at <= p_now) p,
           (SELECT (SELECT lth_pvr.setting('polls_per_day_max')) AS v) s
     WHERE p.n > s.v
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_polls_per_day(timestamptz) FROM PUBLIC;
