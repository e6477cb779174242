-- Owns: what a newly recorded fill is: `overfill` when the order's fills now exceed its quantity
-- (order_is_overfilled) — kept, real money, but flagged (event log, v_alerts) — else `recorded`;
-- the detail also says when the fee was unreadable (recorded as 0 by order_fill_row).
-- Internal; record_fill calls it with the order row after the fill (order_after_fill); record_frames
-- records a trade in memory only when it is `recorded` with nothing to say.
CREATE OR REPLACE FUNCTION lth_pvr.fill_outcome(
    p_order lth_pvr.exchange_orders,
    p_trade jsonb,
    OUT outcome text,
    OUT detail text
)
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    outcome := 'recorded';
    IF lth_pvr.order_is_overfilled(p_order) THEN
        outcome := 'overfill';
        detail := format('filled %s exceeds the order quantity %s', p_order.filled_qty,
                         coalesce(p_order.original_qty, p_order.qty));
    END IF;
    IF lth_pvr.trade_fee(p_trade) IS NULL THEN
        detail := concat_ws('; ', detail, 'fee unreadable, recorded as 0');
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.fill_outcome(lth_pvr.exchange_orders, jsonb) FROM PUBLIC;
