-- Owns: the worker's report that VALR does not know a placement whose answer was lost (looked up by
-- customerOrderId = customer_order_id): the lost-placement rule (settle_lost_placement) decides — within
-- the grace the order stays `placing` (outcome `not_found_within_grace`: the request may still be in
-- flight), after it placing -> pending to be placed again (outcome `placed_again`), or, once placed
-- again placement_requeues_max times, placing -> failed (outcome `lost_placement`) and a person
-- decides. One event row (source `placement`, kind `lookup`) per call.
CREATE OR REPLACE FUNCTION lth_pvr.record_placement_not_found(
    p_exchange_order_id uuid,
    p_now timestamptz DEFAULT now()
) RETURNS TABLE (status text, changed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_order   exchange_orders%ROWTYPE;
    v_settled record;
BEGIN
    SELECT * INTO v_order FROM exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO v_settled FROM lth_pvr.settle_lost_placement(v_order, 'placement', p_now);
    IF v_settled.outcome IS NULL THEN
        PERFORM lth_pvr.log_order_event(v_order.exchange_order_id, v_order.exchange_account_id, 'placement',
            'lookup', 'not_found_within_grace', v_order.status, v_order.status, NULL,
            'VALR does not know customerOrderId ' || v_order.customer_order_id || ' yet', NULL, p_now);
        RETURN QUERY SELECT v_order.status, false;
        RETURN;
    END IF;
    PERFORM lth_pvr.log_order_event(v_order.exchange_order_id, v_order.exchange_account_id, 'placement',
        'lookup', v_settled.outcome, v_order.status, v_settled.new_status, NULL, v_settled.detail, NULL, p_now);
    RETURN QUERY SELECT v_settled.new_status, true;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_placement_not_found(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_placement_not_found(uuid, timestamptz) TO valr_worker;
