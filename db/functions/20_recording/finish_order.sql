-- Owns: an order reaching its final status (filled, cancelled or failed) — the one function every
-- path to a terminal status calls, inside the caller's transaction:
--   apply_order_payload        VALR's word: an ORDER_STATUS_UPDATE, ORDER_PROCESSED success=false,
--                              an open-orders item, a status look-up (source ws / poll / placement)
--   record_placement           VALR refused the placement (source placement)
--   settle_lost_placement      VALR still does not know a placement after the grace period
--                              (record_placement_not_found, record_poll 'not_found')
--   request_cancel             a pending order, or a placing one whose request has not left,
--                              cancelled before it was sent (source operator)
-- record_batch's set-based fast path (record_frames / write_frame_effects) never changes a status:
-- a frame that would goes to record_frame, hence apply_order_payload, hence here.
--
-- It sets the status (the status guard trigger still refuses an illegal transition; the
-- finished_at trigger stamps finished_at from updated_at), updated_at, the failure reason, and does
-- the terminal clean-up: no more safety net (requires_polling), no due poll, no poll claim, no
-- reconciliation owed. The caller has locked the row and writes the event-log row.
--
-- The place for what must happen when an order is finished: an order whose market fallback was
-- requested (fallback_requested_at) gets replace_after_fallback here, inside the transaction that
-- records VALR's confirmation that the original is finished — only on VALR's word (p_source `ws`,
-- `poll`, `placement`; never `operator`) and only for filled (nothing to replace) or cancelled
-- (the remainder VALR did not execute, at market). A failed order is not replaced.
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
DECLARE
    v_fallback_owed boolean;
BEGIN
    IF p_status IS NULL OR NOT lth_pvr.is_final(p_status) THEN
        RAISE EXCEPTION 'finish_order: % is not a final status', p_status USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM lth_pvr.allow_status_change('finish_order');
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
     WHERE o.exchange_order_id = p_exchange_order_id
    RETURNING o.fallback_requested_at IS NOT NULL AND o.fallback_outcome IS NULL INTO v_fallback_owed;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'finish_order: no order %', p_exchange_order_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM lth_pvr.allow_status_change(NULL);
    IF v_fallback_owed AND p_status IN ('filled', 'cancelled') AND p_source IN ('ws', 'poll', 'placement') THEN
        PERFORM lth_pvr.replace_after_fallback(p_exchange_order_id, p_source, p_now);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.finish_order(uuid, text, text, text, timestamptz) FROM PUBLIC;
