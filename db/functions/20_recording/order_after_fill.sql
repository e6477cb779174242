-- Owns: an order row after one more recorded fill: its totals grow by the fill (order_fill_totals),
-- it was just confirmed by the exchange and is watched when the fill came over the WebSocket
-- (ws_monitored_after, from the fill's source). Its status does not move: a fill never changes it.
-- Internal; record_fill writes it (UPDATE), record_frames keeps it in memory for write_frame_effects.
CREATE OR REPLACE FUNCTION lth_pvr.order_after_fill(
    p_order lth_pvr.exchange_orders,
    p_fill lth_pvr.order_fills,
    p_now timestamptz
)
RETURNS lth_pvr.exchange_orders
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    p_order := lth_pvr.order_fill_totals(p_order, p_order.filled_qty + p_fill.qty,
                                         p_order.filled_value + p_fill.price * p_fill.qty);
    p_order.updated_at := p_now;
    p_order.exchange_confirmed_at := p_now;
    p_order.ws_monitored_at := lth_pvr.ws_monitored_after(p_order.ws_monitored_at, p_fill.source, p_now);
    RETURN p_order;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_after_fill(lth_pvr.exchange_orders, lth_pvr.order_fills, timestamptz) FROM PUBLIC;
