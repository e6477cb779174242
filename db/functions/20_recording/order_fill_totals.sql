-- Owns: an order's fill totals — filled_qty and filled_value (the sum of price × qty) are the sums over
-- its fills, avg_price their quotient (NULL with nothing filled). Exact numeric sums: no rounding.
-- Internal; order_after_fill (the totals grow by one fill) and correct_fill (summed again from the
-- fills after a correction) call it.
CREATE OR REPLACE FUNCTION lth_pvr.order_fill_totals(
    p_order lth_pvr.exchange_orders,
    p_filled_qty numeric,
    p_filled_value numeric
)
RETURNS lth_pvr.exchange_orders
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    p_order.filled_qty := p_filled_qty;
    p_order.filled_value := p_filled_value;
    p_order.avg_price := CASE WHEN p_filled_qty > 0 THEN p_filled_value / p_filled_qty END;
    RETURN p_order;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_fill_totals(lth_pvr.exchange_orders, numeric, numeric) FROM PUBLIC;
