-- Owns no status change: the last word before attempt p_attempt (2, 3, …) of a placement whose
-- previous attempt VALR refused without accepting it (a 429, or a 401 for a timestamp
-- outside its window while our clock was off). Checked right before each retry, in
-- the same way as the first: the order is still `placing`, attempt p_attempt - 1 is the last one
-- that left, and the grace since it left has not expired (past it, another worker's lookup may
-- already have concluded the order lost). Then placement_sent_at is stamped again — the grace
-- counts from the request actually on its way, never from one sent before a rate-limit wait — and
-- the answer is true. Otherwise false, logged `not_sent`, and nothing is sent; and when this
-- attempt's grace has passed (the order still placing, attempt p_attempt - 1 its last), VALR refused
-- every attempt and holds nothing: the order fails (record_placement, placing -> failed), a known
-- outcome. An order another claim placed again is left to that claim.
-- p_attempt counts every attempt of the order, across claims (placement_attempts is never reset:
-- place_again): a retry held by an earlier claim of an order placed again never matches.
CREATE OR REPLACE FUNCTION lth_pvr.retry_placement(
    p_exchange_order_id uuid,
    p_attempt int,
    p_now timestamptz DEFAULT now()
) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_order exchange_orders%ROWTYPE;
    v_why   text;
BEGIN
    SELECT * INTO v_order FROM exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    v_why := CASE
        WHEN v_order.status <> 'placing' THEN format('the order is %s', v_order.status)
        WHEN v_order.placement_sent_at IS NULL OR v_order.placement_attempts <> p_attempt - 1
            THEN format('attempt %s is not the next one (%s sent)', p_attempt, v_order.placement_attempts)
        WHEN p_now >= placement_grace_ends_at(v_order.placement_sent_at, v_order.claimed_at)
            THEN format('the placement grace (%s s) since the last attempt has passed',
                        setting('placement_grace_seconds'))
    END;
    PERFORM log_order_event(p_exchange_order_id, v_order.exchange_account_id, 'placement', 'placement_retry',
        CASE WHEN v_why IS NULL THEN 'sent' ELSE 'not_sent' END, v_order.status, v_order.status, NULL,
        coalesce('not sent: ' || v_why, format('attempt %s after VALR refused the last one', p_attempt)),
        '{}'::jsonb, p_now);
    IF v_why IS NOT NULL THEN
        IF v_order.status = 'placing' AND v_order.placement_sent_at IS NOT NULL
           AND v_order.placement_attempts = p_attempt - 1 THEN  -- this claim's turn, and its grace passed
            PERFORM record_placement(p_exchange_order_id, NULL,
                'VALR refused every attempt (rate limit or clock): not sent again once the placement grace had passed',
                NULL, p_now);
        END IF;
        RETURN false;
    END IF;
    UPDATE exchange_orders o
       SET placement_sent_at = p_now, placement_attempts = p_attempt
     WHERE o.exchange_order_id = p_exchange_order_id;
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.retry_placement(uuid, int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.retry_placement(uuid, int, timestamptz) TO valr_worker;
