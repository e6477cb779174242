-- Owns: an account's full open-orders list (WS OPEN_ORDERS_UPDATE.data, GET /v1/orders/open) ->
-- each listed order applied as an update (outcome per item), and our `submitted` orders of the
-- account that the list lacks returned as `missing`. A listed order owes no reconciliation any more
-- (reconcile_due_at cleared). Absence is never proof: a missing order is
-- only marked owed a REST reconciliation (reconcile_due_at), held for the account's lease holder
-- for 2 minutes (poll_claimed_at) so claim_due_polls does not hand it out twice.
--
-- VALR sends the whole list after every order change, so most items say nothing new: an item naming
-- one of the account's orders by its orderId, in the status the order already has (with a usable
-- originalQuantity), is apply_order_payload's `unchanged` case, recorded here with one locked
-- look-up and one UPDATE (that also clears reconcile_due_at) instead of a round of function calls.
-- Every other item goes through apply_order_payload. Items are taken in list order either way.
-- On the WebSocket, such an item is not even refreshed when an earlier frame of the same read already
-- confirmed the order (its exchange_confirmed_at is this very p_now: VALR sends the list right after
-- the order's own event) and it owes nothing (watched, no reconciliation due, same originalQuantity):
-- no raw rewrite, no `unchanged` event row — raw and the event log already hold VALR's word from this
-- moment. It still gets its `unchanged` row. REST lists (source `poll`) refresh every listed order.
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
    v_order   lth_pvr.exchange_orders%ROWTYPE;
    v_valr_id text;
    v_listed  text[];
    v_intents uuid[];
    v_holder  text;
    v_grace   numeric;
BEGIN
    IF jsonb_typeof(p_open_orders) IS DISTINCT FROM 'array' THEN
        -- Without a list, nothing can be called missing.
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, p_source, 'open_orders', 'malformed',
            NULL, NULL, NULL, 'open orders is not a JSON array', p_open_orders, p_now);
        RETURN;
    END IF;

    SELECT coalesce(array_agg(lth_pvr.json_text(e->'orderId')), '{}'),
           coalesce(array_agg(lth_pvr.json_uuid(e->'customerOrderId')), '{}')
      INTO v_listed, v_intents
      FROM jsonb_array_elements(p_open_orders) AS e
     WHERE jsonb_typeof(e) = 'object';

    FOR v_item IN SELECT e FROM jsonb_array_elements(p_open_orders) AS e LOOP
        v_valr_id := CASE WHEN jsonb_typeof(v_item) = 'object' THEN lth_pvr.json_text(v_item->'orderId') END;
        IF v_valr_id IS NOT NULL THEN
            -- The unchanged case (see the header), judged on the locked row.
            SELECT * INTO v_order
              FROM lth_pvr.exchange_orders o
             WHERE o.ext_order_id = v_valr_id AND o.exchange_account_id = p_exchange_account_id
               FOR UPDATE;
            IF FOUND AND lth_pvr.payload_is_unchanged(v_item, v_order) THEN
                IF NOT (p_source = 'ws' AND lth_pvr.open_item_already_confirmed(v_item, v_order, p_now)) THEN
                    -- Listed: its status is reconciled; no further look-up is owed for it.
                    UPDATE lth_pvr.exchange_orders o
                       SET (raw, exchange_confirmed_at, original_qty, ws_monitored_at, reconcile_due_at) =
                           (SELECT n.raw, n.exchange_confirmed_at, n.original_qty, n.ws_monitored_at,
                                   n.reconcile_due_at
                              FROM lth_pvr.order_after_unchanged(o, v_item, true, p_source, p_now) AS n)
                     WHERE o.exchange_order_id = v_order.exchange_order_id;
                    PERFORM lth_pvr.log_order_event(v_order.exchange_order_id, p_exchange_account_id, p_source,
                        'open_order', 'unchanged', v_order.status, v_order.status,
                        lth_pvr.json_time(coalesce(v_item->'orderUpdatedAt', v_item->'updatedAt')), NULL,
                        v_item, p_now);
                END IF;
                RETURN QUERY SELECT v_order.exchange_order_id, v_order.ext_order_id, v_order.intent_id,
                                    v_order.pair, 'unchanged'::text;
                CONTINUE;
            END IF;
        END IF;

        SELECT * INTO v_result
          FROM lth_pvr.apply_order_payload(p_exchange_account_id, p_source, 'open_order', v_item, NULL, p_now);
        IF v_result.outcome IN ('applied', 'unchanged') THEN
            -- Listed: its status is reconciled; no further look-up is owed for it.
            UPDATE lth_pvr.exchange_orders o SET reconcile_due_at = NULL
             WHERE o.exchange_order_id = v_result.exchange_order_id AND o.reconcile_due_at IS NOT NULL;
        END IF;
        RETURN QUERY
            SELECT v_result.exchange_order_id,
                   coalesce(o.ext_order_id, CASE WHEN jsonb_typeof(v_item) = 'object'
                                                 THEN lth_pvr.json_text(v_item->'orderId') END),
                   o.intent_id, o.pair, v_result.outcome
              FROM (SELECT 1) AS one
              LEFT JOIN lth_pvr.exchange_orders o ON o.exchange_order_id = v_result.exchange_order_id;
    END LOOP;

    SELECT l.worker_id INTO v_holder
      FROM lth_pvr.subaccount_leases l
     WHERE l.exchange_account_id = p_exchange_account_id AND l.expires_at > p_now;
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
           AND o.intent_id <> ALL (array_remove(v_intents, NULL))
        RETURNING o.exchange_order_id, o.ext_order_id, o.intent_id, o.pair
    )
    SELECT m.exchange_order_id, m.ext_order_id, m.intent_id, m.pair, 'missing'::text
      FROM missing m
     ORDER BY m.exchange_order_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.reconcile_open_orders(uuid, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.reconcile_open_orders(uuid, text, jsonb, timestamptz) TO valr_worker;
