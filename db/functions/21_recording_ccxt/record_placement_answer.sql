-- Owns: a ccxt exchange's answer to create_order, recorded as its word on the order (source
-- `placement`), in one transaction: the trades it carries first (Binance's FULL answer: a market order
-- comes back closed, with its fills), then the order itself (record_order_update).
-- ccxt parses the fills of an answer without their order (`order` null), and record_fill finds a
-- trade's order by the exchange's id or our client id: each trade is given the answer's own id and
-- client id where it has none, as record_exchange_events gives a trade its read's order. Without this
-- every such fill came back `unmatched`, the answer's `filled` was recorded without its fills, and
-- they waited for the socket's trade event — lost when the session closed as the account's last open
-- order finished — or for claim_missing_fills.
-- Returns record_order_update's row and whether the new status is final (is_final): the session
-- fetches the fills of a finished order that still misses some at once, as it does for the socket's
-- word. Called by the worker (ExchangeSession) after record_placement.
CREATE OR REPLACE FUNCTION lth_pvr.record_placement_answer(
    p_exchange_account_id uuid,
    p_order jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, old_status text, new_status text, outcome text, final boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_trade  jsonb;
    v_client jsonb := ccxt_order_payload(p_order)->'customerOrderId';  -- the answer's client id, read once
BEGIN
    IF jsonb_typeof(p_order) = 'object' AND jsonb_typeof(p_order->'trades') = 'array' THEN
        FOR v_trade IN
            SELECT t.item
                   -- the answer's ids where ccxt left the trade's out (strip_nulls: none to give, none given)
                   || jsonb_strip_nulls(jsonb_build_object(
                          'order', CASE WHEN coalesce(jsonb_typeof(t.item->'order'), 'null') = 'null'
                                        THEN p_order->'id' END,
                          'clientOrderId', CASE WHEN NOT t.item ? 'clientOrderId'
                                                THEN v_client END))
              FROM jsonb_array_elements(p_order->'trades') WITH ORDINALITY AS t(item, n)
             WHERE jsonb_typeof(t.item) = 'object'
             ORDER BY t.n
        LOOP
            PERFORM 1 FROM record_fill(p_exchange_account_id, 'placement', v_trade, p_now);
        END LOOP;
    END IF;
    RETURN QUERY
        SELECT u.exchange_order_id, u.old_status, u.new_status, u.outcome, is_final(u.new_status)
          FROM record_order_update(p_exchange_account_id, 'placement', p_order, p_now) u;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_placement_answer(uuid, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_placement_answer(uuid, jsonb, timestamptz) TO valr_worker;
