-- Owns: cancellation from SQL: SELECT lth_pvr.request_cancel('<exchange_order_id>'); a person's word,
-- so it beats automation:
--   `requested`          cancel_requested_at set; the trigger NOTIFYs lth_pvr_cancel; the status
--                        changes only when VALR says so
--   `fallback_off`       the order's market fallback had fired (its cancel already on its way) and was
--                        not decided yet: the fallback is turned off (fallback_outcome
--                        'cancelled_by_person'), so VALR's final word places no replacement
--   `already_requested`  asked before
--   `cancelled_before_placement`  nothing was sent to VALR — pending, or placing whose request has not
--                        left (begin_placement, the last word before the POST, then refuses to send
--                        it) — -> cancelled through finish_order
--   `terminal`, `unknown_id`
CREATE OR REPLACE FUNCTION lth_pvr.request_cancel(p_exchange_order_id uuid, p_now timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_order   lth_pvr.exchange_orders%ROWTYPE;
    v_outcome text;
    v_detail  text;
BEGIN
    SELECT * INTO v_order FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unknown_id';
    ELSIF lth_pvr.is_final(v_order.status) THEN
        RETURN 'terminal';
    ELSIF v_order.status = 'pending' OR (v_order.status = 'placing' AND v_order.placement_sent_at IS NULL) THEN
        v_outcome := 'cancelled_before_placement';
        UPDATE lth_pvr.exchange_orders o SET cancel_requested_at = p_now
         WHERE o.exchange_order_id = p_exchange_order_id;
        PERFORM lth_pvr.finish_order(p_exchange_order_id, 'cancelled', 'operator', NULL, p_now);
    ELSIF v_order.fallback_requested_at IS NOT NULL AND v_order.fallback_outcome IS NULL THEN
        v_outcome := 'fallback_off';
        v_detail := format('a person''s cancel: the %s fallback fired at %s is off; VALR''s word on the cancel '
                           'already on its way places no market order', v_order.fallback_reason,
                           v_order.fallback_requested_at);
        UPDATE lth_pvr.exchange_orders o SET fallback_outcome = 'cancelled_by_person'
         WHERE o.exchange_order_id = p_exchange_order_id;
    ELSIF v_order.cancel_requested_at IS NOT NULL THEN
        RETURN 'already_requested';
    ELSE
        v_outcome := 'requested';
        UPDATE lth_pvr.exchange_orders o SET cancel_requested_at = p_now
         WHERE o.exchange_order_id = p_exchange_order_id;
    END IF;
    PERFORM lth_pvr.log_order_event(p_exchange_order_id, v_order.exchange_account_id, 'operator', 'cancel_request',
        v_outcome, v_order.status,
        CASE WHEN v_outcome = 'cancelled_before_placement' THEN 'cancelled' ELSE v_order.status END,
        NULL, v_detail, '{}'::jsonb, p_now);
    RETURN v_outcome;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.request_cancel(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.request_cancel(uuid, timestamptz) TO valr_operator;
