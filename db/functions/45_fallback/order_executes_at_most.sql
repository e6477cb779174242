-- Owns: how much one order may have executed once it is over — what it executed plus what it may still
-- execute. A live order (pending, placing, submitted) may execute its whole quantity: its qty, or
-- VALR's originalQuantity when VALR's word differs (a hand-edited qty does not shrink what VALR
-- holds), or what it executed when that is already more. A finished order executes nothing more:
-- what it executed (order_executed_qty: our fills or VALR's word, whichever is ahead).
-- The intent invariant sums this over an intent's orders (intent_executes_at_most).
CREATE OR REPLACE FUNCTION lth_pvr.order_executes_at_most(p_order lth_pvr.exchange_orders)
RETURNS numeric
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN lth_pvr.is_open(p_order.status)
                THEN greatest(p_order.qty, p_order.original_qty, lth_pvr.order_executed_qty(p_order))
                ELSE lth_pvr.order_executed_qty(p_order) END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_executes_at_most(lth_pvr.exchange_orders) FROM PUBLIC;
