-- Owns: an order reaching its final status (filled, cancelled or failed) — the one function every
-- path to a terminal status calls, inside the caller's transaction:
--   apply_order_payload        VALR's word: an ORDER_STATUS_UPDATE, ORDER_PROCESSED success=false,
--                              an open-orders item, a status look-up (source ws / poll / placement)
--   record_placement           VALR refused the placement (source placement)
--   fail_lost_placement        VALR still does not know a placement after the grace period
--                              (record_placement_not_found, record_poll 'not_found')
--   request_cancel             a pending order cancelled before it was ever sent (source operator)
-- record_batch's set-based fast path (record_frames / write_frame_effects) never changes a status:
-- a frame that would goes to record_frame, hence apply_order_payload, hence here.
--
-- It sets the status (the status guard trigger still refuses an illegal transition; the
-- finished_at trigger stamps finished_at from updated_at), updated_at, the failure reason, and does
-- the terminal clean-up: no more safety net (requires_polling), no due poll, no poll claim, no
-- reconciliation owed. The caller has locked the row and writes the event-log row.
--
-- The place for what must happen when an order is finished: e.g. a replacement order (a limit
-- order's market fallback) inserted here is inside the transaction that records VALR's confirmation
-- that the original is finished — p_source says whose word it was (`ws`/`poll`/`placement`: VALR's;
-- `operator`: cancelled before placement; lost placements are `placement`/`poll` with status failed
-- and old status placing).
CREATE OR REPLACE FUNCTION lth_pvr.finish_order(
    p_exchange_order_id uuid,
    p_status text,
    p_source text,
    p_failed_reason text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('filled', 'cancelled', 'failed') THEN
        RAISE EXCEPTION 'finish_order: % is not a final status', p_status USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE lth_pvr.exchange_orders o
       SET status = p_status,
           updated_at = p_now,
           failed_reason = CASE WHEN p_status = 'failed' THEN coalesce(p_failed_reason, o.failed_reason)
                                ELSE o.failed_reason END,
           requires_polling = false,
           poll_due_at = NULL,
           poll_claimed_at = NULL,
           poll_claimed_by = NULL,
           reconcile_due_at = NULL
     WHERE o.exchange_order_id = p_exchange_order_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'finish_order: no order %', p_exchange_order_id USING ERRCODE = 'no_data_found';
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.finish_order(uuid, text, text, text, timestamptz) FROM PUBLIC;
