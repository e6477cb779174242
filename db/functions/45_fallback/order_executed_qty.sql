-- Owns: how much of one order is executed, as far as anyone knows: the larger of our fill sum and
-- what VALR's latest payload says (originalQuantity − remainingQuantity), since either may be ahead
-- (a trade event may still be on its way; a payload may be older than a fill). The intent invariant
-- (order_executes_at_most, intent_executed_qty) is built on this.
CREATE OR REPLACE FUNCTION lth_pvr.order_executed_qty(p_order lth_pvr.exchange_orders)
RETURNS numeric
LANGUAGE sql STABLE
AS $$
    SELECT greatest(p_order.filled_qty, coalesce(lth_pvr.valr_executed_qty(p_order.raw -> 'valr'), 0))
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_executed_qty(lth_pvr.exchange_orders) FROM PUBLIC;
