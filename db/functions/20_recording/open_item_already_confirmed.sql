-- Owns: whether a WebSocket open-orders item need not refresh its order (no raw rewrite, no
-- `unchanged` event row), because the order owes nothing — watched (or no longer open), no
-- reconciliation due — and raw and the event log already hold this word from VALR:
--   * an earlier frame of the same read confirmed the order (exchange_confirmed_at is this very
--     p_now: VALR sends the list right after the order's own event) and the item's originalQuantity
--     is the one held; or
--   * the item is exactly the payload raw holds (raw->'valr'): VALR repeats what it last said. VALR
--     sends the whole list after every change of any order of the account, so with many open orders
--     nearly every item is such a repeat; refreshing each would cost one row version and one event
--     row per open order per change (1,000 open orders: ~65 ms of every fill's commit). Such an
--     order's exchange_confirmed_at stays the moment VALR's word last changed; the safety net
--     re-confirms resting orders every ten minutes, well inside stuck_order_minutes.
-- Unknowns count as "not confirmed": the item is then refreshed.
-- Internal; apply_order_payload (an open-orders item of reconcile_open_orders) and record_frames call it
-- (after payload_is_unchanged).
CREATE OR REPLACE FUNCTION lth_pvr.open_item_already_confirmed(
    p_item jsonb,
    p_order lth_pvr.exchange_orders,
    p_now timestamptz
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_orig numeric;
BEGIN
    IF NOT coalesce((p_order.ws_monitored_at IS NOT NULL OR p_order.status <> 'submitted')
                    AND p_order.reconcile_due_at IS NULL, false) THEN
        RETURN false;
    END IF;
    IF p_order.raw->'valr' = p_item THEN
        RETURN true;
    END IF;
    v_orig := lth_pvr.json_numeric(p_item->'originalQuantity');
    RETURN coalesce(p_order.exchange_confirmed_at = p_now
                    -- As text: 1.0 and 1.00 are equal numbers but not the same word from VALR.
                    AND (v_orig IS NULL OR v_orig::text = p_order.original_qty::text),
                    false);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.open_item_already_confirmed(jsonb, lth_pvr.exchange_orders, timestamptz) FROM PUBLIC;
