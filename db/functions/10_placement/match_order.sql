-- Owns: finding which of our orders a VALR payload is about, within one account.
--   1. by the exchange's orderId (ext_order_id, unique within the account's exchange); an orderId we
--      hold under ANOTHER account of that exchange is not ours here;
--   2. else by customerOrderId = customer_order_id (an event racing the placement answer), only among the
--      account's orders that were sent (placing; failed, or submitted when the payload has no
--      orderId) and have no ext_order_id yet — a pending order was never sent, so an event naming
--      its intent is another system's order.
-- customerOrderId is unique among OPEN orders only: another system may hold an open order with
-- ours (then VALR refuses ours as a duplicate). Such an order is told apart by what VALR says of
-- it: a different pair, side, limit price or original quantity (ours fit the pair's precision, so
-- VALR reports them unchanged; a market order has no price, VALR reports originalPrice "0"), or a creation time (orderCreatedAt / createdAt) more than
-- order_created_skew_seconds (2 s) before our claim (our POST leaves after the claim commits; the
-- setting allows for clock skew, and a skew
-- beyond it only drops an early event of our own order, which the placement answer and the safety
-- net make up for). A trade (p_is_trade) says only pair and side of its order.
-- Callers re-check after locking the row: a placement answer committed meanwhile may have given the
-- order another VALR id. NULL when none matches (the caller logs `not_ours`).
CREATE OR REPLACE FUNCTION lth_pvr.match_order(
    p_exchange_account_id uuid,
    p_payload jsonb,
    p_is_trade boolean
)
RETURNS uuid
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_id         uuid;
    v_account    uuid;
    v_valr_id    text;
    v_cid        uuid;
    v_created    timestamptz;
    v_pair       text;
    v_side       text;
    v_price      numeric;
    v_qty        numeric;
    v_skew       interval;
BEGIN
    IF jsonb_typeof(p_payload) IS DISTINCT FROM 'object' THEN
        RETURN NULL;
    END IF;
    v_valr_id := lth_pvr.json_text(p_payload->'orderId');
    IF v_valr_id IS NOT NULL THEN
        SELECT o.exchange_order_id, o.exchange_account_id INTO v_id, v_account
          FROM lth_pvr.exchange_orders o
         WHERE o.ext_order_id = v_valr_id
           AND o.exchange = (SELECT a.exchange FROM lth_pvr.exchange_accounts a
                              WHERE a.exchange_account_id = p_exchange_account_id);
        IF FOUND THEN
            RETURN CASE WHEN v_account = p_exchange_account_id THEN v_id END;
        END IF;
    END IF;
    v_cid := lth_pvr.json_uuid(p_payload->'customerOrderId');
    IF v_cid IS NULL THEN
        RETURN NULL;
    END IF;

    v_pair := upper(lth_pvr.json_text(p_payload->'currencyPair'));
    v_side := upper(coalesce(lth_pvr.json_text(p_payload->'orderSide'), lth_pvr.json_text(p_payload->'side')));
    IF NOT p_is_trade THEN
        v_created := lth_pvr.json_time(coalesce(p_payload->'orderCreatedAt', p_payload->'createdAt'));
        IF v_created IS NOT NULL THEN
            v_skew := make_interval(secs => lth_pvr.setting('order_created_skew_seconds'));
        END IF;
        v_price := lth_pvr.json_numeric(coalesce(p_payload->'originalPrice', p_payload->'price'));
        v_qty := lth_pvr.json_numeric(p_payload->'originalQuantity');
    END IF;

    SELECT o.exchange_order_id INTO v_id
      FROM lth_pvr.exchange_orders o
     WHERE o.customer_order_id = v_cid
       AND o.exchange_account_id = p_exchange_account_id
       AND o.status IN ('placing', 'submitted', 'failed')
       AND (o.ext_order_id IS NULL OR v_valr_id IS NULL)
       AND (v_pair IS NULL OR v_pair = o.pair)
       AND (v_side IS NULL OR v_side = o.side)
       AND (v_price IS NULL OR v_price = coalesce(o.price, 0))
       AND (v_qty IS NULL OR v_qty = o.qty)
       AND (v_created IS NULL OR o.claimed_at IS NULL OR v_created >= o.claimed_at - v_skew)
     ORDER BY (o.status IN ('placing', 'submitted')) DESC, o.created_at DESC
     LIMIT 1;
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.match_order(uuid, jsonb, boolean) FROM PUBLIC;
