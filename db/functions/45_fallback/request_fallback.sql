-- Owns: a fallback firing — the first step of "cancel first, replace only on VALR's word". On a
-- submitted order with no fallback requested yet and no cancel asked for otherwise, it records the
-- trigger (fallback_reason 'age' | 'price', the price seen, the threshold, when) and requests the
-- cancel through the existing cancel path (cancel_requested_at: the NOTIFY trigger wakes the worker,
-- claim_cancel_requests hands the DELETE out and retries it until VALR answers). Nothing is placed
-- here: finish_order inserts the replacement when VALR confirms the cancel. Logs kind `fallback`,
-- outcome `fallback_requested` with trigger, price seen, threshold and quantity.
-- Returns false (and does nothing) when the order is not in that state; locks the row (two callers,
-- e.g. the worker's timer and the cron safety net, fire it once).
-- Internal: request_due_fallbacks and price_triggered_orders call it.
CREATE OR REPLACE FUNCTION lth_pvr.request_fallback(
    p_exchange_order_id uuid,
    p_reason text,
    p_price_seen numeric,
    p_threshold numeric,
    p_now timestamptz DEFAULT now()
)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_order exchange_orders%ROWTYPE;
BEGIN
    UPDATE exchange_orders o
       SET fallback_reason = p_reason,
           fallback_requested_at = p_now,
           fallback_price = p_price_seen,
           fallback_threshold = p_threshold,
           cancel_requested_at = p_now
     WHERE o.exchange_order_id = p_exchange_order_id
       AND lth_pvr.fallback_armed(o.status, o.fallback_requested_at, o.cancel_requested_at)
    RETURNING * INTO v_order;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM log_order_event(v_order.exchange_order_id, v_order.exchange_account_id, 'system', 'fallback',
        'fallback_requested', v_order.status, v_order.status, NULL,
        CASE p_reason
            WHEN 'price' THEN format('price: best %s %s reached %s (limit %s moved %s); cancel requested',
                                     CASE v_order.side WHEN 'BUY' THEN 'ask' ELSE 'bid' END, p_price_seen,
                                     p_threshold, v_order.price, v_order.fallback_price_move)
            ELSE format('age: submitted %s + %s; cancel requested', v_order.submitted_at, v_order.fallback_after)
        END,
        jsonb_build_object('trigger', p_reason, 'price_seen', p_price_seen, 'threshold', p_threshold,
                           'qty', v_order.qty, 'limit_price', v_order.price),
        p_now);
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.request_fallback(uuid, text, numeric, numeric, timestamptz) FROM PUBLIC;
