-- Owns: the alert market_slippage, critical: market orders VALR ended cancelled before executing all of them
-- (market_order_cut_short: slippage, a plain "Cancelled" after a partial fill, …; not a cancel a person
-- asked for) within fallback_alert_hours, not followed by another order: a person decides the rest
-- (place_intent_remainder).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_market_slippage(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'market_slippage'::text, 'critical'::text, x.n, 0::numeric,
           format('%s market order(s) ended by VALR before executing all of them (slippage or another cancel), '
                  'the rest not placed: %s; to place what an intent still lacks (sized by the database): '
                  'SELECT lth_pvr.place_intent_remainder(''<intent>'')', x.n, left(x.ids, 400))
      FROM (SELECT count(*) AS n,
                   string_agg(format('%s of intent %s (%s: %s of %s executed)', o.exchange_order_id, o.intent_id,
                                     coalesce(o.raw -> 'valr' ->> 'orderStatusType', o.status),
                                     trim_scale(lth_pvr.order_executed_qty(o)), trim_scale(o.qty)), ', '
                              ORDER BY o.finished_at) AS ids
              FROM lth_pvr.exchange_orders o
             WHERE o.finished_at > p_now - make_interval(secs => lth_pvr.setting('fallback_alert_hours') * 3600)
                       AND o.finished_at <= p_now
               AND o.status IN ('filled', 'cancelled')
               AND lth_pvr.order_needs_attention(o) = 'market_cut_short'
               AND NOT EXISTS (SELECT 1 FROM lth_pvr.exchange_orders r WHERE r.replaces_order_id = o.exchange_order_id)) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_market_slippage(timestamptz) FROM PUBLIC;
