-- Owns: placing -> failed for a placement whose answer was lost and which VALR still does not know.
--
-- The worker looked the order up by customerOrderId (= intent_id) and VALR answered "not found".
-- Within the grace period (settings.placement_grace_seconds, counted from when the request left —
-- placement_sent_at — or, if it never left, from the claim) the order stays `placing`: the request
-- may still be in flight. A request that never left can no longer leave once this fails the order
-- (begin_placement refuses). After it, the order becomes `failed` with a reason
-- saying so, and a person decides. It is never placed again and never goes back to `pending`.
CREATE OR REPLACE FUNCTION lth_pvr.record_placement_not_found(
    p_exchange_order_id uuid,
    p_now timestamptz DEFAULT now()
) RETURNS TABLE (status text, changed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_order  exchange_orders%ROWTYPE;
    v_grace  numeric;
    v_reason text;
BEGIN
    SELECT * INTO v_order FROM exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT s.value INTO v_grace FROM settings s WHERE s.name = 'placement_grace_seconds';
    v_grace := coalesce(v_grace, 120);

    IF v_order.status <> 'placing'
       OR coalesce(v_order.placement_sent_at, v_order.claimed_at) > p_now - make_interval(secs => v_grace) THEN
        INSERT INTO order_events (exchange_order_id, exchange_account_id, source, kind, outcome,
                                  old_status, new_status, received_at, detail)
        VALUES (v_order.exchange_order_id, v_order.exchange_account_id, 'placement', 'lookup',
                'not_found_within_grace', v_order.status, v_order.status, p_now,
                'VALR does not know customerOrderId ' || v_order.intent_id || ' yet');
        RETURN QUERY SELECT v_order.status, false;
        RETURN;
    END IF;

    v_reason := CASE WHEN v_order.placement_sent_at IS NULL
        THEN format('placement request never left within %s s of the claim; VALR does not know '
                    'customerOrderId %s: not sent; a person decides', v_grace, v_order.intent_id)
        ELSE format('placement answer lost and VALR does not know customerOrderId %s after %s s: '
                    'not placed again; a person decides', v_order.intent_id, v_grace)
    END;
    UPDATE exchange_orders o
       SET status = 'failed', failed_reason = v_reason, requires_polling = false, updated_at = p_now
     WHERE o.exchange_order_id = p_exchange_order_id;
    INSERT INTO order_events (exchange_order_id, exchange_account_id, source, kind, outcome,
                              old_status, new_status, received_at, detail)
    VALUES (v_order.exchange_order_id, v_order.exchange_account_id, 'placement', 'lookup',
            'applied', 'placing', 'failed', p_now, v_reason);
    RETURN QUERY SELECT 'failed'::text, true;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_placement_not_found(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_placement_not_found(uuid, timestamptz) TO valr_worker;
