-- Owns: the order_events row of one WebSocket payload about an order whose status it leaves as it is
-- (a recorded or duplicate trade, an unchanged status, an unchanged open-orders item), as
-- log_order_event writes it, with the exchange's time the general path gives it (payload_exchange_time).
-- Internal; record_frames gathers these and write_frame_effects inserts them in one statement.
CREATE OR REPLACE FUNCTION lth_pvr.order_event_row(
    p_order lth_pvr.exchange_orders,
    p_kind text,
    p_outcome text,
    p_payload jsonb,
    p_now timestamptz
)
RETURNS lth_pvr.order_events
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_event lth_pvr.order_events;
BEGIN
    v_event.exchange_order_id := p_order.exchange_order_id;
    v_event.exchange_account_id := p_order.exchange_account_id;
    v_event.source := 'ws';
    v_event.kind := p_kind;
    v_event.outcome := p_outcome;
    v_event.old_status := p_order.status;
    v_event.new_status := p_order.status;
    v_event.exchange_time := lth_pvr.payload_exchange_time(p_kind, p_payload);
    v_event.received_at := p_now;
    v_event.payload := p_payload;
    RETURN v_event;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_event_row(lth_pvr.exchange_orders, text, text, jsonb, timestamptz) FROM PUBLIC;
