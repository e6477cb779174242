-- Owns: VALR's answer to a placement: placing -> submitted (the 202 with its order id, through
-- submit_order) or placing -> failed (VALR refused it: failed_reason, through finish_order). Never
-- back to pending. An order already moved on by an event racing the answer keeps its status (changed = false); only
-- its ext_order_id is filled in if the event lacked it.
-- A 202 for an order WE made failed because VALR did not know it (failed_inferred_at) is VALR's
-- positive word: the order comes back as submitted (revive_order; the `revived_orders` alert).
CREATE OR REPLACE FUNCTION lth_pvr.record_placement(
    p_exchange_order_id uuid,
    p_ext_order_id text,
    p_failed_reason text DEFAULT NULL,
    p_payload jsonb DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (status text, changed boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_order   lth_pvr.exchange_orders%ROWTYPE;
    v_ext     text := NULLIF(btrim(p_ext_order_id), '');
    v_reason  text := NULLIF(NULLIF(btrim(p_failed_reason), ''), 'None');
    -- ccxt's create_order answer is kept in VALR's words (exchange_payload), as every other payload.
    v_payload jsonb := coalesce(lth_pvr.exchange_payload(p_payload),
                                jsonb_build_object('id', p_ext_order_id, 'failedReason', p_failed_reason));
    v_new     text;
    v_outcome text;
    v_detail  text;
BEGIN
    SELECT * INTO v_order FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'record_placement: no order %', p_exchange_order_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_ext IS NULL AND v_reason IS NULL THEN
        RAISE EXCEPTION 'record_placement: give VALR''s order id or its failure reason'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_ext IS NOT NULL AND EXISTS (SELECT 1 FROM lth_pvr.exchange_orders x
                                      WHERE x.ext_order_id = v_ext AND x.exchange = v_order.exchange
                                        AND x.exchange_order_id <> p_exchange_order_id) THEN
        v_outcome := 'conflict';
        v_detail := 'VALR order id already belongs to another order';
    ELSIF v_order.status = 'placing'
          OR (v_reason IS NULL AND lth_pvr.revival_is_legal(v_order.status, 'submitted', v_order.failed_inferred_at)
              AND coalesce(v_order.ext_order_id, v_ext) = v_ext) THEN
        v_new := CASE WHEN v_reason IS NOT NULL THEN 'failed' ELSE 'submitted' END;
        v_outcome := 'applied';
        IF v_order.status = 'failed' THEN
            v_detail := lth_pvr.revive_order(p_exchange_order_id, v_ext, p_now);
        END IF;
        UPDATE lth_pvr.exchange_orders o
           SET ext_order_id = coalesce(o.ext_order_id, v_ext),
               raw = o.raw || jsonb_build_object('placement', v_payload),
               updated_at = p_now
         WHERE o.exchange_order_id = p_exchange_order_id;
        IF v_new = 'submitted' THEN
            PERFORM lth_pvr.submit_order(p_exchange_order_id, v_ext, 'placement', false, p_now);
        ELSE
            PERFORM lth_pvr.finish_order(p_exchange_order_id, 'failed', 'placement', v_reason, p_now);
        END IF;
    ELSIF v_order.status = 'pending' THEN
        v_outcome := 'illegal_transition';
        v_detail := 'a pending order was never claimed for placement';
    ELSE
        -- An event got here first; keep what it said.
        v_outcome := 'unchanged';
        IF v_order.ext_order_id IS NULL AND v_ext IS NOT NULL THEN
            UPDATE lth_pvr.exchange_orders o SET ext_order_id = v_ext WHERE o.exchange_order_id = p_exchange_order_id;
        ELSIF v_ext IS NOT NULL AND v_order.ext_order_id <> v_ext THEN
            v_outcome := 'conflict';
            v_detail := format('order already has VALR id %s', v_order.ext_order_id);
        END IF;
    END IF;

    PERFORM lth_pvr.log_order_event(p_exchange_order_id, v_order.exchange_account_id, 'placement', 'placement',
        v_outcome, v_order.status, coalesce(v_new, v_order.status), NULL, coalesce(v_detail, v_reason),
        v_payload, p_now);
    RETURN QUERY SELECT coalesce(v_new, v_order.status), v_outcome = 'applied';
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_placement(uuid, text, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_placement(uuid, text, text, jsonb, timestamptz) TO valr_worker;
