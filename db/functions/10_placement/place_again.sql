-- Owns: placing -> pending, to be placed again — the same row, its same customerOrderId. Two callers,
-- each proving no request of the claim can reach VALR any more:
--   requeue_unsent_placements  the claim's request never left (placement_sent_at NULL: begin_placement
--                              stamps it, committed, before any POST) and its claimer is gone or its
--                              grace over;
--   settle_lost_placement      VALR does not know the customerOrderId after the grace since the last
--                              attempt left (each attempt is bounded by the client's timeout, far below
--                              the grace, and VALR's lookup by customerOrderId covers finished orders too).
-- Why the same row and not a new one: the intent invariant holds as it is (same qty, same intent, no
-- second order of the intent); the same customerOrderId means VALR itself refuses a second copy while
-- a first is open; and an inferred `failed` row that VALR's late word could revive (revive_order) next
-- to a new row would be two live orders of one intent. Who may send it next: the claim that wins
-- begin_placement (atomic on placement_sent_at IS NULL). placement_attempts is kept, never reset: an
-- earlier claim's held retry (retry_placement(p_attempt)) then never matches this claim's attempts, and
-- the new claimer numbers its attempts from claim_pending_orders' placement_attempts.
-- Clears the claim and the lookup spacing, counts placement_requeues, wakes the lease holder
-- (lth_pvr_pending). The caller has locked the row and writes the event-log row. Internal.
CREATE OR REPLACE FUNCTION lth_pvr.place_again(p_exchange_order_id uuid, p_now timestamptz)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_account uuid;
BEGIN
    PERFORM lth_pvr.allow_status_change('place_again');
    UPDATE lth_pvr.exchange_orders o
       SET status = 'pending', claimed_at = NULL, claimed_by = NULL, placement_sent_at = NULL,
           placement_lookups = 0, placement_looked_up_at = NULL,
           placement_requeues = o.placement_requeues + 1, updated_at = p_now
     WHERE o.exchange_order_id = p_exchange_order_id
       AND o.status = 'placing'
    RETURNING o.exchange_account_id INTO v_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'place_again: order % is not placing', p_exchange_order_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM lth_pvr.allow_status_change(NULL);
    PERFORM pg_notify('lth_pvr_pending', v_account::text);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.place_again(uuid, timestamptz) FROM PUBLIC;
