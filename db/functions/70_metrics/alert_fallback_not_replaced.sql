-- Owns: the alert fallback_not_replaced, warning: limit orders whose fallback placed no replacement (remainder below the pair's
-- minimum, not stated by VALR, or refused by the pair's rules), finished within fallback_alert_hours.
-- Below the minimum is said here but is not order_needs_attention: nobody may place it.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_fallback_not_replaced(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'fallback_not_replaced'::text, 'warning'::text, x.n, 0::numeric,
           format('%s limit order(s) cancelled by their fallback without a market replacement: %s',
                  x.n, left(x.ids, 400))
      FROM (SELECT count(*) AS n,
                   string_agg(format('%s (%s)', o.exchange_order_id, o.fallback_outcome), ', '
                              ORDER BY o.finished_at) AS ids
              FROM lth_pvr.exchange_orders o
             WHERE o.finished_at > p_now - make_interval(secs => lth_pvr.setting('fallback_alert_hours') * 3600)
                       AND o.finished_at <= p_now
               AND o.status IN ('filled', 'cancelled')
               AND o.fallback_outcome IN ('below_minimum', 'remainder_unknown', 'refused')) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_fallback_not_replaced(timestamptz) FROM PUBLIC;
