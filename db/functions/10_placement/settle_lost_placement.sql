-- Owns: the lost-placement rule — a `placing` order whose request left (placement_sent_at) and that
-- VALR says it does not know (looked up by customerOrderId, or polled), once the grace since the last
-- attempt is over (placement_grace_ends_at): no request of it can reach VALR any more (each attempt is
-- bounded by the client's timeout, far below the grace; VALR's lookup by customerOrderId covers
-- finished orders too), so it is placed again (place_again: the same row back to `pending`, outcome
-- `placed_again`) — while placement_requeues (every return to pending, this rule's and
-- requeue_unsent_placements') is below placement_requeues_max; after that VALR is evidently not taking it,
-- and it becomes `failed` (through finish_order, outcome `lost_placement`) and a person decides. That
-- failure is our inference (failed_inferred_at): VALR's later positive word revives it (revive_order).
-- Within the grace, for an order no longer placing, or one never sent (requeue_unsent_placements
-- places those again), nothing changes and all three columns are NULL.
-- The caller has locked the row and writes the event-log row with the outcome and detail returned.
-- Internal; record_placement_not_found and record_poll ('not_found') call it.
CREATE OR REPLACE FUNCTION lth_pvr.settle_lost_placement(
    p_order lth_pvr.exchange_orders,
    p_source text,
    p_now timestamptz,
    OUT new_status text,
    OUT outcome text,
    OUT detail text
)
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_order.status <> 'placing' OR p_order.placement_sent_at IS NULL
       OR lth_pvr.placement_grace_ends_at(p_order.placement_sent_at, p_order.claimed_at) > p_now THEN
        RETURN;
    END IF;
    IF p_order.placement_requeues < lth_pvr.setting('placement_requeues_max') THEN
        PERFORM lth_pvr.place_again(p_order.exchange_order_id, p_now);
        new_status := 'pending';
        outcome := 'placed_again';
        detail := format('VALR does not know customerOrderId %s %s s after the request left: no request of '
                         'it can reach VALR any more; placed again (%s of %s)', p_order.customer_order_id,
                         lth_pvr.setting('placement_grace_seconds'), p_order.placement_requeues + 1,
                         lth_pvr.setting('placement_requeues_max'));
        RETURN;
    END IF;
    new_status := 'failed';
    outcome := 'lost_placement';
    detail := format('VALR does not know customerOrderId %s %s s after the request left, and the order went '
                     'back to be placed again %s times already: not placed again; a person decides',
                     p_order.customer_order_id, lth_pvr.setting('placement_grace_seconds'),
                     p_order.placement_requeues);
    PERFORM lth_pvr.finish_order(p_order.exchange_order_id, 'failed', p_source, detail, p_now);
    -- Our inference, not VALR's word: if VALR ever shows the order, it comes back (revive_order).
    UPDATE lth_pvr.exchange_orders o SET failed_inferred_at = p_now
     WHERE o.exchange_order_id = p_order.exchange_order_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.settle_lost_placement(lth_pvr.exchange_orders, text, timestamptz) FROM PUBLIC;
