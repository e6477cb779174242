-- Owns: a market order VALR ended before executing all of it — cancelled with less executed than its
-- quantity, whatever VALR's status text ("Partially Filled and Cancelled Due To Slippage", a plain
-- "Cancelled" after a partial fill, "Expired", …) — unless a person asked for the cancel: its intent is
-- short and nothing places the rest. The alert market_slippage names these orders; v_intents shows
-- their intent as needs_attention. SECURITY DEFINER: v_intents calls it for readers.
CREATE OR REPLACE FUNCTION lth_pvr.market_order_cut_short(p_order lth_pvr.exchange_orders)
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT p_order.order_type = 'market' AND p_order.status = 'cancelled'
           AND p_order.cancel_requested_at IS NULL
           AND lth_pvr.order_executed_qty(p_order) < coalesce(p_order.original_qty, p_order.qty)
$$;

REVOKE ALL ON FUNCTION lth_pvr.market_order_cut_short(lth_pvr.exchange_orders) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.market_order_cut_short(lth_pvr.exchange_orders) TO valr_reader;
