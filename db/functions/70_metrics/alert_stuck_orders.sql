-- Owns: the alert stuck_orders, critical: submitted orders stuck (order_is_stuck: requires_polling, not confirmed by the
-- exchange — event or poll; else since submitted_at — for over stuck_order_minutes), as v_stuck_orders.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_stuck_orders(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'stuck_orders'::text, 'critical'::text, round(stuck.oldest, 2), s.v,
           format('%s submitted order(s) not confirmed by the exchange for over %s minutes: %s',
                  stuck.n, s.v, left(stuck.ids, 400))
      FROM (SELECT (SELECT lth_pvr.setting('stuck_order_minutes')) AS v) s,
           LATERAL (
               SELECT count(*) AS n,
                      max(extract(epoch FROM p_now - coalesce(o.exchange_confirmed_at, o.submitted_at)) / 60) AS oldest,
                      string_agg(o.exchange_order_id::text, ', '
                                 ORDER BY coalesce(o.exchange_confirmed_at, o.submitted_at)) AS ids
                 FROM lth_pvr.exchange_orders o
                WHERE lth_pvr.order_is_stuck(o.status, o.requires_polling, o.exchange_confirmed_at, o.submitted_at,
                                             make_interval(mins => s.v::int), p_now)) stuck
     WHERE stuck.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_stuck_orders(timestamptz) FROM PUBLIC;
