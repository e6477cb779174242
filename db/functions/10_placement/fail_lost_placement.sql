-- Owns: the lost-placement rule — a `placing` order VALR says it does not know (looked up by
-- customerOrderId, or polled) becomes `failed` once its grace has ended (placement_grace_ends_at),
-- with a reason saying whether the request ever left; a person decides. It is never placed again
-- (begin_placement refuses a failed order) and never goes back to `pending`; but the failure is our
-- inference (failed_inferred_at): VALR's later positive word revives it (revive_order). Within the grace, or
-- for an order no longer placing, nothing changes.
-- Returns the reason when it failed the order, NULL otherwise. The caller has locked the row and
-- writes the event-log row (outcome `lost_placement` when the order failed).
-- Internal; record_placement_not_found and record_poll ('not_found') call it.
CREATE OR REPLACE FUNCTION lth_pvr.fail_lost_placement(
    p_order lth_pvr.exchange_orders,
    p_source text,
    p_now timestamptz
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_reason text;
BEGIN
    IF p_order.status <> 'placing'
       OR lth_pvr.placement_grace_ends_at(p_order.placement_sent_at, p_order.claimed_at) > p_now THEN
        RETURN NULL;
    END IF;
    v_reason := CASE WHEN p_order.placement_sent_at IS NULL
        THEN format('placement request never left within %s s of the claim; VALR does not know '
                    'customerOrderId %s: not sent; a person decides',
                    lth_pvr.setting('placement_grace_seconds'), p_order.customer_order_id)
        ELSE format('placement answer lost and VALR does not know customerOrderId %s after %s s: '
                    'not placed again; a person decides',
                    p_order.customer_order_id, lth_pvr.setting('placement_grace_seconds'))
    END;
    PERFORM lth_pvr.finish_order(p_order.exchange_order_id, 'failed', p_source, v_reason, p_now);
    -- Our inference, not VALR's word: if VALR ever shows the order, it comes back (revive_order).
    UPDATE lth_pvr.exchange_orders o SET failed_inferred_at = p_now
     WHERE o.exchange_order_id = p_order.exchange_order_id;
    RETURN v_reason;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.fail_lost_placement(lth_pvr.exchange_orders, text, timestamptz) FROM PUBLIC;
