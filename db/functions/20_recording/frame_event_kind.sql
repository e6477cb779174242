-- Owns: the order_events.kind of an account-WebSocket frame, from its type — one word of the closed
-- vocabulary (order_event_kind_must_be_known) for every frame, whatever VALR sends:
--   ORDER_STATUS_UPDATE -> order_status   NEW_ACCOUNT_TRADE -> trade   OPEN_ORDERS_UPDATE -> open_orders
--   ORDER_PROCESSED -> order_processed    FAILED_CANCEL_ORDER -> failed_cancel_order
--   no type -> frame                      any other type -> unknown_frame (the type stays in the payload)
-- Internal; record_frame and record_batch (a frame whose recording raised) use it.
CREATE OR REPLACE FUNCTION lth_pvr.frame_event_kind(p_type text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE p_type
        WHEN 'ORDER_STATUS_UPDATE' THEN 'order_status'
        WHEN 'NEW_ACCOUNT_TRADE'   THEN 'trade'
        WHEN 'OPEN_ORDERS_UPDATE'  THEN 'open_orders'
        WHEN 'ORDER_PROCESSED'     THEN 'order_processed'
        WHEN 'FAILED_CANCEL_ORDER' THEN 'failed_cancel_order'
        ELSE CASE WHEN p_type IS NULL THEN 'frame' ELSE 'unknown_frame' END
    END
$$;

REVOKE ALL ON FUNCTION lth_pvr.frame_event_kind(text) FROM PUBLIC;
