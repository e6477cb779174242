-- Owns: the alert illegal_from_failed, critical: VALR reported a change of an order recorded failed that could not be applied
-- (illegal_transition out of failed), last 24 h.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_illegal_from_failed(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'illegal_from_failed'::text, 'critical'::text, x.n, 0::numeric,
           format('VALR reported %s change(s) of %s order(s) recorded failed that were refused as illegal '
                  'transitions: %s', x.n, x.orders, left(x.ids, 400))
      FROM (SELECT count(*) AS n, count(DISTINCT e.exchange_order_id) AS orders,
                   string_agg(DISTINCT e.exchange_order_id::text, ', ') AS ids
              FROM lth_pvr.order_events e
             WHERE e.outcome = 'illegal_transition' AND e.old_status = 'failed'
               AND e.received_at > p_now - interval '24 hours' AND e.received_at <= p_now) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_illegal_from_failed(timestamptz) FROM PUBLIC;
