-- Owns: an order row after a payload that confirmed its status (payload_is_unchanged): VALR's latest
-- word kept in raw, confirmed now, its originalQuantity, watched when heard on the WebSocket
-- (ws_monitored_after).
-- An open-orders item (p_listed) also settles a reconciliation the order owed. updated_at stays.
-- Internal; the one rule for apply_order_payload's `unchanged` UPDATE (which every open-orders item
-- of reconcile_open_orders goes through) and for record_frames, which keeps the row in memory
-- (write_frame_effects writes it).
CREATE OR REPLACE FUNCTION lth_pvr.order_after_unchanged(
    p_order lth_pvr.exchange_orders,
    p_payload jsonb,
    p_listed boolean,
    p_source text,
    p_now timestamptz
)
RETURNS lth_pvr.exchange_orders
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    p_order.raw := p_order.raw || jsonb_build_object('valr', p_payload);
    p_order.exchange_confirmed_at := p_now;
    p_order.original_qty := coalesce(lth_pvr.json_numeric(p_payload->'originalQuantity'), p_order.original_qty);
    p_order.ws_monitored_at := lth_pvr.ws_monitored_after(p_order.ws_monitored_at, p_source, p_now);
    IF p_listed THEN
        p_order.reconcile_due_at := NULL;
    END IF;
    RETURN p_order;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_after_unchanged(lth_pvr.exchange_orders, jsonb, boolean, text, timestamptz) FROM PUBLIC;
