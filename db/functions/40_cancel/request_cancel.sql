-- Owns: cancellation from SQL: SELECT lth_pvr.request_cancel('<exchange_order_id>');
--   `requested`          cancel_requested_at set; the trigger NOTIFYs lth_pvr_cancel; the status
--                        changes only when VALR says so
--   `already_requested`  asked before
--   `cancelled_before_placement`  pending -> cancelled through finish_order (nothing was sent to VALR)
--   `terminal`, `unknown_id`
CREATE OR REPLACE FUNCTION lth_pvr.request_cancel(p_exchange_order_id uuid, p_now timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_order   lth_pvr.exchange_orders%ROWTYPE;
    v_outcome text;
BEGIN
    SELECT * INTO v_order FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unknown_id';
    ELSIF lth_pvr.is_final(v_order.status) THEN
        RETURN 'terminal';
    ELSIF v_order.status = 'pending' THEN
        v_outcome := 'cancelled_before_placement';
        UPDATE lth_pvr.exchange_orders o SET cancel_requested_at = p_now
         WHERE o.exchange_order_id = p_exchange_order_id;
        PERFORM lth_pvr.finish_order(p_exchange_order_id, 'cancelled', 'operator', NULL, p_now);
    ELSIF v_order.cancel_requested_at IS NOT NULL THEN
        RETURN 'already_requested';
    ELSE
        v_outcome := 'requested';
        UPDATE lth_pvr.exchange_orders o SET cancel_requested_at = p_now
         WHERE o.exchange_order_id = p_exchange_order_id;
    END IF;
    PERFORM lth_pvr.log_order_event(p_exchange_order_id, v_order.exchange_account_id, 'operator', 'cancel_request',
        v_outcome, v_order.status, CASE WHEN v_outcome = 'requested' THEN v_order.status ELSE 'cancelled' END,
        NULL, NULL, '{}'::jsonb, p_now);
    RETURN v_outcome;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.request_cancel(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.request_cancel(uuid, timestamptz) TO valr_operator;
