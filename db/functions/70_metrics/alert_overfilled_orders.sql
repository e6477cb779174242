-- Owns: the alert overfilled_orders, critical: orders whose fills exceed their quantity.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_overfilled_orders(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'overfilled_orders'::text, 'critical'::text, x.n, 0::numeric,
           format('fills exceed the order quantity: %s', left(x.ids, 400))
      FROM (SELECT count(*) AS n, string_agg(o.exchange_order_id::text, ', ' ORDER BY o.exchange_order_id) AS ids
              FROM lth_pvr.exchange_orders o
             WHERE o.filled_qty > coalesce(o.original_qty, o.qty)) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_overfilled_orders(timestamptz) FROM PUBLIC;
