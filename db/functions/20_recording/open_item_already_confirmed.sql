-- Owns: whether a WebSocket open-orders item need not refresh its order: an earlier frame of the same
-- read already confirmed the order (exchange_confirmed_at is this very p_now: VALR sends the list
-- right after the order's own event), it is watched (or no longer open), owes no reconciliation, and
-- the item's originalQuantity is the one held. raw and the event log already hold VALR's word from
-- this moment. Unknowns count as "not confirmed": the item is then refreshed.
-- Internal; reconcile_open_orders and record_frames call it.
CREATE OR REPLACE FUNCTION lth_pvr.open_item_already_confirmed(
    p_item jsonb,
    p_order lth_pvr.exchange_orders,
    p_now timestamptz
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_orig numeric := lth_pvr.json_numeric(p_item->'originalQuantity');
BEGIN
    RETURN coalesce(p_order.exchange_confirmed_at = p_now
                    AND (p_order.ws_monitored_at IS NOT NULL OR p_order.status <> 'submitted')
                    AND p_order.reconcile_due_at IS NULL
                    -- As text: 1.0 and 1.00 are equal numbers but not the same word from VALR.
                    AND (v_orig IS NULL OR v_orig::text = p_order.original_qty::text),
                    false);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.open_item_already_confirmed(jsonb, lth_pvr.exchange_orders, timestamptz) FROM PUBLIC;
