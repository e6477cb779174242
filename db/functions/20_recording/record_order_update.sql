-- Owns: one VALR order object from the WebSocket (ORDER_STATUS_UPDATE.data), the status endpoint
-- or an open-orders listing item -> the order's status (submitted | filled | cancelled | failed).
-- Matched by orderId, else customerOrderId = customer_order_id; outcomes applied, unchanged,
-- illegal_transition, unknown_status, not_ours, malformed. Never raises on a bad payload.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.record_order_update(
    p_exchange_account_id uuid,
    p_source text,
    p_payload jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, old_status text, new_status text, outcome text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    -- ccxt's unified order is translated first (exchange_payload): its `status` is no open-orders item's.
    SELECT r.*
      FROM (SELECT lth_pvr.exchange_payload(p_payload) AS x) c,
           LATERAL lth_pvr.apply_order_payload(
               p_exchange_account_id, p_source,
               CASE WHEN jsonb_typeof(c.x) = 'object' AND NOT c.x ? 'orderStatusType' AND c.x ? 'status'
                    THEN 'open_order' ELSE 'order_status' END,
               c.x, NULL, p_now) r;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_order_update(uuid, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_order_update(uuid, text, jsonb, timestamptz) TO valr_worker;
