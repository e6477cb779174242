-- Owns: the exchange's time of a VALR payload, as the event log and the fill keep it: a trade's
-- `tradedAt`; an order object's `orderUpdatedAt` (ORDER_STATUS_UPDATE, the status endpoint) or
-- `updatedAt` (an open-orders item). NULL when unreadable (json_time never raises).
-- Internal; apply_order_payload, record_fill and order_fill_row (the general path) and order_event_row
-- (the fast path) call it. SQL, so a caller's expression inlines it.
CREATE OR REPLACE FUNCTION lth_pvr.payload_exchange_time(p_kind text, p_payload jsonb)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE
AS $$
    SELECT lth_pvr.json_time(CASE WHEN p_kind = 'trade' THEN p_payload->'tradedAt'
                                  ELSE coalesce(p_payload->'orderUpdatedAt', p_payload->'updatedAt') END)
$$;

REVOKE ALL ON FUNCTION lth_pvr.payload_exchange_time(text, jsonb) FROM PUBLIC;
