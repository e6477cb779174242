-- Owns: failed -> submitted for an order WE made failed because VALR did not know it after the
-- placement grace (failed_inferred_at: settle_lost_placement) and that VALR now shows — a 202, a
-- frame, an open-orders list, a look-up (revival_is_legal). VALR's positive word beats our
-- inference: the order is open again under VALR's word (revived_at, the `revived_orders` alert),
-- back in the safety net; the caller then applies what VALR said (e.g. finish_order when VALR
-- says it already filled). Returns the inferred failure's reason, for the caller's event row.
-- p_ext_order_id: VALR's id of the order (kept when we already hold one).
-- Internal; apply_order_payload and record_placement call it on the row they locked.
CREATE OR REPLACE FUNCTION lth_pvr.revive_order(p_exchange_order_id uuid, p_ext_order_id text, p_now timestamptz)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_reason text;
BEGIN
    SELECT o.failed_reason INTO v_reason FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id;
    PERFORM lth_pvr.allow_status_change('revive_order');
    UPDATE lth_pvr.exchange_orders o
       SET status = 'submitted', ext_order_id = coalesce(o.ext_order_id, p_ext_order_id), revived_at = p_now, failed_inferred_at = NULL, failed_reason = NULL,
           finished_at = NULL, requires_polling = true, updated_at = p_now
     WHERE o.exchange_order_id = p_exchange_order_id
       AND lth_pvr.revival_is_legal(o.status, 'submitted', o.failed_inferred_at);
    IF NOT FOUND THEN  -- checked before the next PERFORM, which would set FOUND again
        RAISE EXCEPTION 'revive_order: order % is not an inferred failure', p_exchange_order_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM lth_pvr.allow_status_change(NULL);
    RETURN format('revived: VALR shows the order we had inferred lost (%s)', v_reason);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.revive_order(uuid, text, timestamptz) FROM PUBLIC;
