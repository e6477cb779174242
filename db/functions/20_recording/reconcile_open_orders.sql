-- Owns: an account's full open-orders list (WS OPEN_ORDERS_UPDATE.data, GET /v1/orders/open) ->
-- each listed order applied as an update (apply_order_payload, kind `open_order`: outcome per item;
-- a listed order owes no reconciliation any more), and our `submitted` orders of the account that
-- the list lacks returned as `missing`. Absence is never proof: a missing order is only marked owed
-- a REST reconciliation (reconcile_due_at), held for the account's lease holder for
-- poll_claim_seconds (poll_claimed_at) so claim_due_polls does not hand it out twice.
-- An order submitted less than open_list_grace_seconds before the list may not be listed yet
-- (VALR's 202 precedes "Placed") unless the exchange already confirmed it.
-- The common WebSocket list (nothing new, none missing) never reaches here: record_frames records it.
CREATE OR REPLACE FUNCTION lth_pvr.reconcile_open_orders(
    p_exchange_account_id uuid,
    p_source text,
    p_open_orders jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, ext_order_id text, intent_id uuid, pair text, outcome text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_item    jsonb;
    v_result  record;
    v_listed  text[];
    v_customer_ids uuid[];
    v_holder  text;
    v_grace   numeric;
BEGIN
    IF jsonb_typeof(p_open_orders) IS DISTINCT FROM 'array' THEN
        -- Without a list, nothing can be called missing.
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, p_source, 'open_orders', 'malformed',
            NULL, NULL, NULL, 'open orders is not a JSON array', p_open_orders, p_now);
        RETURN;
    END IF;

    -- ccxt's unified orders (fetch_open_orders) in VALR's words, once, before their ids are read.
    p_open_orders := coalesce((SELECT jsonb_agg(lth_pvr.exchange_payload(e.item) ORDER BY e.n)
                                 FROM jsonb_array_elements(p_open_orders) WITH ORDINALITY AS e(item, n)), '[]');
    SELECT coalesce(array_agg(lth_pvr.json_text(e->'orderId')), '{}'),
           coalesce(array_agg(lth_pvr.json_uuid(e->'customerOrderId')), '{}')
      INTO v_listed, v_customer_ids
      FROM jsonb_array_elements(p_open_orders) AS e
     WHERE jsonb_typeof(e) = 'object';

    -- Each item is applied in list order (apply_order_payload: a listed order owes no
    -- reconciliation any more; on the WebSocket one already confirmed by this read is not refreshed).
    FOR v_item IN SELECT e FROM jsonb_array_elements(p_open_orders) AS e LOOP
        SELECT * INTO v_result
          FROM lth_pvr.apply_order_payload(p_exchange_account_id, p_source, 'open_order', v_item, NULL, p_now);
        RETURN QUERY
            SELECT v_result.exchange_order_id,
                   coalesce(o.ext_order_id, CASE WHEN jsonb_typeof(v_item) = 'object'
                                                 THEN lth_pvr.json_text(v_item->'orderId') END),
                   o.intent_id, o.pair, v_result.outcome
              FROM (SELECT 1) AS one
              LEFT JOIN lth_pvr.exchange_orders o ON o.exchange_order_id = v_result.exchange_order_id;
    END LOOP;

    SELECT l.worker_id INTO v_holder
      FROM lth_pvr.live_leases(p_now) l
     WHERE l.exchange_account_id = p_exchange_account_id;
    -- Read once here rather than once per candidate row inside the UPDATE below.
    v_grace := lth_pvr.setting('open_list_grace_seconds');

    RETURN QUERY
    WITH missing AS (
        UPDATE lth_pvr.exchange_orders o
           SET reconcile_due_at = coalesce(o.reconcile_due_at, p_now),
               poll_claimed_at = p_now,
               poll_claimed_by = coalesce(v_holder, 'reconcile')
         WHERE o.exchange_account_id = p_exchange_account_id
           AND o.status = 'submitted'
           -- A just-accepted order may not be listed yet (VALR's 202 precedes "Placed"); one the
           -- exchange already confirmed (an event or a poll) is listed while open: no grace for it.
           AND (o.exchange_confirmed_at IS NOT NULL
                OR o.submitted_at < p_now - make_interval(secs => v_grace))
           AND o.ext_order_id <> ALL (array_remove(v_listed, NULL))
           AND o.customer_order_id <> ALL (array_remove(v_customer_ids, NULL))
        RETURNING o.exchange_order_id, o.ext_order_id, o.intent_id, o.pair
    )
    SELECT m.exchange_order_id, m.ext_order_id, m.intent_id, m.pair, 'missing'::text
      FROM missing m
     ORDER BY m.exchange_order_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.reconcile_open_orders(uuid, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.reconcile_open_orders(uuid, text, jsonb, timestamptz) TO valr_worker;
