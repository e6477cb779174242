-- Owns: an overfill — an order whose recorded fills exceed its quantity (VALR's originalQuantity, else
-- ours). Real money, kept, but flagged.
-- Internal, and read by the alerts: fill_outcome (`overfill`) and the `overfilled_orders` alert call it.
-- SQL, so the alert's scan inlines it.
CREATE OR REPLACE FUNCTION lth_pvr.order_is_overfilled(p_order lth_pvr.exchange_orders)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT p_order.filled_qty > coalesce(p_order.original_qty, p_order.qty)
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_is_overfilled(lth_pvr.exchange_orders) FROM PUBLIC;
