-- Owns: an account's full open-orders list (WS OPEN_ORDERS_UPDATE.data, GET /v1/orders/open) ->
-- each listed order applied as an update (outcome per item), and our `submitted` orders of the
-- account that the list lacks returned as `missing`. A listed order owes no reconciliation any more
-- (reconcile_due_at cleared). Absence is never proof: a missing order is
-- only marked owed a REST reconciliation (reconcile_due_at), held for the account's lease holder
-- for 2 minutes (poll_claimed_at) so claim_due_polls does not hand it out twice.
--
-- VALR sends the whole list after every order change, so most lists say nothing new. When every item
-- is one of the account's orders, named once by its orderId, in the status it already has (with a
-- usable originalQuantity), each item is exactly apply_order_payload's `unchanged` case: the list is
-- then recorded in three statements (lock, update, log) instead of a round of function calls per
-- item, with the same rows, event-log rows (in list order) and outcomes. Any other list goes item by
-- item through apply_order_payload.
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
    v_item      jsonb;
    v_result    record;
    v_listed    text[];
    v_intents   uuid[];
    v_unchanged int;
    v_holder    text;
    v_grace     numeric;
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

    IF jsonb_array_length(p_open_orders) > 0 THEN
        -- Lock the orders the items name (in list order, as the item-by-item path would), then
        -- judge them as locked: a status changed meanwhile sends the list down the slow path.
        SELECT count(DISTINCT l.exchange_order_id) INTO v_unchanged
          FROM (SELECT o.exchange_order_id
                  FROM jsonb_array_elements(p_open_orders) WITH ORDINALITY AS i(item, n)
                  JOIN lth_pvr.exchange_orders o
                    ON o.ext_order_id = lth_pvr.json_text(i.item->'orderId')
                   AND o.exchange_account_id = p_exchange_account_id
                 WHERE jsonb_typeof(i.item) = 'object'
                   AND o.status = lth_pvr.valr_status(coalesce(lth_pvr.json_text(i.item->'orderStatusType'),
                                                               lth_pvr.json_text(i.item->'status')))
                   AND (coalesce(jsonb_typeof(i.item->'originalQuantity'), 'null') = 'null'
                        OR lth_pvr.json_numeric(i.item->'originalQuantity') > 0)
                 ORDER BY i.n
                   FOR UPDATE OF o) AS l;
    END IF;

    IF v_unchanged = jsonb_array_length(p_open_orders) THEN
        -- Every item names a distinct order of ours that did not change: apply_order_payload's
        -- `unchanged` (refresh what VALR told us, never updated_at), the listed order's
        -- reconcile_due_at cleared, one event row per item.
        RETURN QUERY
        WITH items AS (
            SELECT i.item, i.n, lth_pvr.json_text(i.item->'orderId') AS valr_id
              FROM jsonb_array_elements(p_open_orders) WITH ORDINALITY AS i(item, n)
        ), confirmed AS (
            UPDATE lth_pvr.exchange_orders o
               SET raw = o.raw || jsonb_build_object('valr', i.item),
                   exchange_confirmed_at = p_now,
                   original_qty = coalesce(lth_pvr.json_numeric(i.item->'originalQuantity'), o.original_qty),
                   ws_monitored_at = CASE WHEN p_source = 'ws' AND o.status = 'submitted'
                                          THEN coalesce(o.ws_monitored_at, p_now) ELSE o.ws_monitored_at END,
                   reconcile_due_at = NULL
              FROM items i
             WHERE o.ext_order_id = i.valr_id
               AND o.exchange_account_id = p_exchange_account_id
            RETURNING i.n, i.item, o.exchange_order_id, o.exchange_account_id, o.ext_order_id, o.intent_id,
                      o.pair, o.status
        ), logged AS (
            INSERT INTO lth_pvr.order_events (exchange_order_id, exchange_account_id, source, kind, outcome,
                                              old_status, new_status, exchange_time, received_at, detail, payload)
            SELECT c.exchange_order_id, c.exchange_account_id, p_source, 'open_order', 'unchanged',
                   c.status, c.status,
                   lth_pvr.json_time(coalesce(c.item->'orderUpdatedAt', c.item->'updatedAt')), p_now, NULL, c.item
              FROM confirmed c
             ORDER BY c.n
        )
        SELECT c.exchange_order_id, c.ext_order_id, c.intent_id, c.pair, 'unchanged'::text
          FROM confirmed c
         ORDER BY c.n;
    ELSE
        FOR v_item IN SELECT e FROM jsonb_array_elements(p_open_orders) AS e LOOP
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
    END IF;

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
