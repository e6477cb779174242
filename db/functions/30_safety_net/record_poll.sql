-- Owns: the result of one REST look-up of an order (safety net, targeted poll, reconciliation, or a
-- lost placement looked up by customerOrderId):
--   ok        the answer is applied as an order update (source `poll`), outcome as record_order_update
--   not_found counted in poll_failures; never terminal by itself — a `placing` order whose
--             placement is lost follows the lost-placement rule (settle_lost_placement, as in
--             record_placement_not_found): placed again (outcome `placed_again`), or at last `failed`
--             (outcome `lost_placement`)
--   error     counted in poll_failures; never terminal
-- Always: last_polled_at, poll_count, and the due/claim/reconcile marks cleared. Never moves
-- updated_at by itself. One event row (kind `poll`) per call: v_alerts counts polls from them.
CREATE OR REPLACE FUNCTION lth_pvr.record_poll(
    p_exchange_order_id uuid,
    p_result text,
    p_payload jsonb DEFAULT NULL,
    p_error text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (old_status text, new_status text, outcome text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_order   lth_pvr.exchange_orders%ROWTYPE;
    v_result  record;
    v_outcome text;
    v_new     text;
    v_detail  text := left(p_error, 500);
    v_settled record;
BEGIN
    IF p_result IS NULL OR p_result NOT IN ('ok', 'not_found', 'error') THEN
        RAISE EXCEPTION 'record_poll: result must be ok, not_found or error, not %', p_result
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v_order FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'record_poll: no order %', p_exchange_order_id USING ERRCODE = 'no_data_found';
    END IF;

    UPDATE lth_pvr.exchange_orders o
       SET last_polled_at = p_now,
           poll_count = o.poll_count + 1,
           poll_failures = o.poll_failures + CASE WHEN p_result = 'ok' THEN 0 ELSE 1 END,
           poll_due_at = NULL, poll_claimed_at = NULL, poll_claimed_by = NULL, reconcile_due_at = NULL
     WHERE o.exchange_order_id = p_exchange_order_id;

    IF p_result = 'ok' THEN
        SELECT * INTO v_result
          FROM lth_pvr.apply_order_payload(v_order.exchange_account_id, 'poll', 'poll', p_payload,
                                           p_exchange_order_id, p_now);
        RETURN QUERY SELECT v_result.old_status, v_result.new_status, v_result.outcome;
        RETURN;
    END IF;

    v_outcome := p_result;
    v_new := v_order.status;
    -- A placing order VALR does not know: the lost-placement rule decides.
    IF p_result = 'not_found' THEN
        SELECT * INTO v_settled FROM lth_pvr.settle_lost_placement(v_order, 'poll', p_now);
        v_outcome := coalesce(v_settled.outcome, v_outcome);
        v_new := coalesce(v_settled.new_status, v_new);
        v_detail := coalesce(v_settled.detail, v_detail);
    END IF;
    PERFORM lth_pvr.log_order_event(p_exchange_order_id, v_order.exchange_account_id, 'poll', 'poll', v_outcome,
        v_order.status, v_new, NULL, v_detail, coalesce(p_payload, '{}'::jsonb), p_now);
    RETURN QUERY SELECT v_order.status, v_new, v_outcome;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_poll(uuid, text, jsonb, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_poll(uuid, text, jsonb, text, timestamptz) TO valr_worker;
