-- Owns: an order row after one more recorded WebSocket fill, as record_fill's UPDATE leaves it: the
-- totals grow by the fill (exact numeric sums), the order was just confirmed and is watched.
-- Internal; record_frames keeps the row in memory and write_frame_effects writes it.
CREATE OR REPLACE FUNCTION lth_pvr.order_after_fill(
    p_order lth_pvr.exchange_orders,
    p_fill lth_pvr.order_fills,
    p_now timestamptz
)
RETURNS lth_pvr.exchange_orders
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    p_order.filled_qty := p_order.filled_qty + p_fill.qty;
    p_order.filled_value := p_order.filled_value + p_fill.price * p_fill.qty;
    p_order.avg_price := p_order.filled_value / p_order.filled_qty;
    p_order.updated_at := p_now;
    p_order.exchange_confirmed_at := p_now;
    p_order.ws_monitored_at := lth_pvr.ws_monitored_after(p_order.ws_monitored_at, 'ws', p_now);
    RETURN p_order;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_after_fill(lth_pvr.exchange_orders, lth_pvr.order_fills, timestamptz) FROM PUBLIC;
