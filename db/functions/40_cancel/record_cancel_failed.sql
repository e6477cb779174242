-- Owns no status change: records that a cancel attempt failed — the DELETE got no answer, a 429 or
-- a 5xx (source `system`, from the worker), or VALR refused it afterwards with FAILED_CANCEL_ORDER
-- (source `ws`, from record_frame). Counts cancel_failures and logs `cancel_failed`. The cancel
-- stays owed: claim_cancel_requests sends it again cancel_retry_seconds after the attempt, until
-- VALR's word makes the order terminal. A refusal by VALR (source `ws`) of an order we hold open
-- also asks VALR for the order's status (one poll): it may have filled or been cancelled with that
-- word lost (a dropped frame), and every later cancel would only be refused again. Unknown order:
-- nothing.
CREATE OR REPLACE FUNCTION lth_pvr.record_cancel_failed(
    p_exchange_order_id uuid,
    p_source text,
    p_detail text,
    p_payload jsonb DEFAULT NULL,
    p_now timestamptz DEFAULT now()
) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_order exchange_orders%ROWTYPE;
BEGIN
    UPDATE exchange_orders o
       SET cancel_failures = o.cancel_failures + 1
     WHERE o.exchange_order_id = p_exchange_order_id
    RETURNING * INTO v_order;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM log_order_event(p_exchange_order_id, v_order.exchange_account_id, p_source, 'cancel',
        'cancel_failed', v_order.status, v_order.status, NULL,
        CASE WHEN v_order.status IN ('placing', 'submitted')
             THEN format('%s; sent again %s s after this attempt', p_detail, setting('cancel_retry_seconds'))
             ELSE p_detail END,
        coalesce(p_payload, '{}'::jsonb), p_now);
    IF p_source = 'ws' AND v_order.poll_due_at IS NULL THEN
        PERFORM mark_poll_due(ARRAY[p_exchange_order_id], p_now);
    END IF;
    RETURN v_order.status;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_cancel_failed(uuid, text, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_cancel_failed(uuid, text, text, jsonb, timestamptz) TO valr_worker;
