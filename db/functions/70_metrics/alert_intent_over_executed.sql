-- Owns: the alert intent_over_executed, critical: intents whose orders together executed more than the intent asked
-- (intent_executed_qty > intent_asked_qty: an order placed elsewhere, VALR executing more than an
-- order's qty). The intent invariant refuses what we insert; what VALR executed anyway is summed here.
-- Only intents of several orders, or of one order that executed more than its qty, can exceed what
-- they asked: the rest are not summed. (MATERIALIZED: else the sums' condition is pushed below the
-- grouping, onto every order.)
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_intent_over_executed(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    WITH intents_to_sum AS MATERIALIZED (
        SELECT m.intent_id
          FROM lth_pvr.exchange_orders m
         GROUP BY m.intent_id
        HAVING count(*) > 1 OR bool_or(m.filled_qty > m.qty OR m.original_qty <> m.qty)
    )
    SELECT 'intent_over_executed'::text, 'critical'::text, x.n, 0::numeric,
           format('%s intent(s) executed more than they asked, summed over their orders: %s', x.n, left(x.ids, 400))
      FROM (SELECT count(*) AS n,
                   string_agg(format('%s (asked %s, executed %s)', c.intent_id, coalesce(c.asked::text, '?'),
                                     c.executed), ', ' ORDER BY c.intent_id) AS ids
              FROM (SELECT i.intent_id, lth_pvr.intent_asked_qty(i.intent_id) AS asked,
                           lth_pvr.intent_executed_qty(i.intent_id) AS executed
                      FROM intents_to_sum i) c
             WHERE c.executed > coalesce(c.asked, 0)) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_intent_over_executed(timestamptz) FROM PUBLIC;
