-- Owns: a person placing what an intent still lacks, sized by the database, never by the person — what
-- the replacement_failed and market_slippage alerts tell them to run:
--   SELECT lth_pvr.place_intent_remainder('<intent_id>');
-- A market order (placed by the worker like any pending order) for exactly intent_asked_qty minus
-- intent_executes_at_most (truncated to the pair's base decimals), following the intent's latest order
-- as its replacement (so it has its own customerOrderId), of the same account, pair and side. Refused,
-- by name, when the intent has no order (`intent_must_exist`), while an order of it is still live
-- (`intent_must_have_no_live_order`: VALR may still execute it), when nothing is lacking
-- (`intent_must_lack_quantity`) or when the remainder is below the pair's minimum
-- (`remainder_must_reach_pair_minimum`: base below min_base_amount, or base × the last market price —
-- else the intent's last known price — below min_quote_amount). The intent is locked first
-- (lock_intent): two people running it at once place one order. Logs kind `remainder`, outcome
-- `remainder_placed` on the new order (source `operator`, who ran it in the payload). Returns the new
-- order's id.
CREATE OR REPLACE FUNCTION lth_pvr.place_intent_remainder(p_intent_id uuid, p_now timestamptz DEFAULT now())
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_last    exchange_orders%ROWTYPE;
    v_live    exchange_orders%ROWTYPE;
    v_pair    pairs%ROWTYPE;
    v_asked   numeric;
    v_at_most numeric;
    v_qty     numeric;
    v_price   numeric;
    v_id      uuid := gen_random_uuid();
    v_rule    text;
    v_why     text;
BEGIN
    PERFORM lock_intent(p_intent_id);
    SELECT * INTO v_last FROM exchange_orders o
     WHERE o.intent_id = p_intent_id
       AND NOT EXISTS (SELECT 1 FROM exchange_orders r WHERE r.replaces_order_id = o.exchange_order_id)
     ORDER BY o.created_at DESC, o.exchange_order_id DESC
     LIMIT 1;
    SELECT * INTO v_live FROM exchange_orders o
     WHERE o.intent_id = p_intent_id AND lth_pvr.is_open(o.status);
    v_asked := intent_asked_qty(p_intent_id);
    v_at_most := intent_executes_at_most(p_intent_id);
    SELECT * INTO v_pair FROM pairs p WHERE p.exchange = v_last.exchange AND p.pair = v_last.pair;
    v_qty := trunc(v_asked - v_at_most, coalesce(v_pair.base_decimal_places, 8));
    v_price := coalesce((SELECT CASE v_last.side WHEN 'BUY' THEN m.ask ELSE m.bid END
                           FROM market_prices m WHERE m.exchange = v_last.exchange AND m.pair = v_last.pair),
                        (SELECT coalesce(o.fallback_price, o.price, o.avg_price) FROM exchange_orders o
                          WHERE o.intent_id = p_intent_id AND coalesce(o.fallback_price, o.price, o.avg_price) IS NOT NULL
                          ORDER BY o.created_at DESC LIMIT 1));
    IF v_last.exchange_order_id IS NULL THEN
        v_rule := 'intent_must_exist';
        v_why := format('no order has intent_id %s', p_intent_id);
    ELSIF v_live.exchange_order_id IS NOT NULL THEN
        v_rule := 'intent_must_have_no_live_order';
        v_why := format('order %s of intent %s is %s: VALR may still execute it; cancel it (lth_pvr.request_cancel) '
                        'or wait for its end', v_live.exchange_order_id, p_intent_id, v_live.status);
    ELSIF v_qty IS NULL OR v_qty <= 0 THEN
        v_rule := 'intent_must_lack_quantity';
        v_why := format('intent %s executed %s of the %s it asked: nothing is lacking', p_intent_id, v_at_most,
                        coalesce(v_asked::text, 'nothing'));
    ELSIF v_qty < v_pair.min_base_amount OR v_qty * v_price < v_pair.min_quote_amount THEN
        v_rule := 'remainder_must_reach_pair_minimum';
        v_why := format('intent %s lacks %s (≈ %s quote at %s), below %s''s minimum (%s base, %s quote): VALR '
                        'would refuse it', p_intent_id, v_qty, v_qty * v_price, v_price, v_pair.pair,
                        v_pair.min_base_amount, v_pair.min_quote_amount);
    END IF;
    IF v_rule IS NOT NULL THEN
        RAISE EXCEPTION '%', v_why
            USING ERRCODE = 'check_violation', CONSTRAINT = v_rule, TABLE = 'exchange_orders', SCHEMA = 'lth_pvr';
    END IF;
    INSERT INTO exchange_orders (exchange_order_id, exchange_account_id, intent_id, pair, side, qty, order_type,
                                 replaces_order_id, created_at, updated_at)
    VALUES (v_id, v_last.exchange_account_id, p_intent_id, v_last.pair, v_last.side, v_qty, 'market',
            v_last.exchange_order_id, p_now, p_now);
    PERFORM log_order_event(v_id, v_last.exchange_account_id, 'operator', 'remainder', 'remainder_placed',
        NULL, 'pending', NULL,
        format('%s placed what intent %s lacks: market %s %s (asked %s, executed %s), after order %s',
               session_user, p_intent_id, v_last.side, v_qty, v_asked, v_at_most, v_last.exchange_order_id),
        jsonb_build_object('intent_id', p_intent_id, 'asked', v_asked, 'executed', v_at_most, 'qty', v_qty,
                           'follows', v_last.exchange_order_id, 'by', session_user),
        p_now);
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.place_intent_remainder(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.place_intent_remainder(uuid, timestamptz) TO valr_operator;
