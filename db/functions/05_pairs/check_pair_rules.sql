-- Owns: whether a pending order suits its exchange's rules for its pair (called by the insert trigger
-- with the pairs row of the order's exchange — its account's — NULL fields when the pair is unknown).
-- The rules' names say VALR (the first exchange); they hold for every exchange alike, each order
-- against its own exchange's pairs, refreshes and prices. Each refusal is constraint-style with a named
-- rule: pair_must_be_known_to_valr, pair_must_be_active, qty_must_reach_min_base_amount,
-- qty_must_not_exceed_max_base_amount, value_must_reach_min_quote_amount,
-- value_must_not_exceed_max_quote_amount, order_type_must_be_supported_by_pair. A pair unknown to a
-- table never refreshed from THAT exchange is accepted, with a warning row in order_events (kind `insert`, outcome `pair_unchecked`).
-- A market order is checked like a limit order (order type MARKET), its value at market_order_price —
-- the last price seen — where one is known; without one only the base-amount rules apply.
-- replace_after_fallback relies on these refusals (a replacement below the minimum is not placed).
-- SECURITY DEFINER: the trigger runs with the inserting role's rights, and a valr_operator member may
-- insert orders but not write the event log nor read pair_refreshes.
CREATE OR REPLACE FUNCTION lth_pvr.check_pair_rules(p_order lth_pvr.exchange_orders, p_pair lth_pvr.pairs)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_market boolean := p_order.order_type = 'market';
    v_price  numeric := CASE WHEN v_market THEN lth_pvr.market_order_price(p_order) ELSE p_order.price END;
    v_value  numeric := p_order.qty * v_price;  -- NULL (no price known): the value rules are skipped
    v_type   text := CASE WHEN v_market THEN 'MARKET' WHEN p_order.post_only THEN 'LIMIT_POST_ONLY' ELSE 'LIMIT' END;
    v_rule   text;
    v_error  text;
BEGIN
    IF NOT coalesce(p_order.qty > 0 AND (v_market OR p_order.price > 0), false) THEN
        RETURN;  -- the table's own checks name that rule (they run after this BEFORE trigger)
    END IF;
    IF p_pair.pair IS NULL THEN
        IF EXISTS (SELECT 1 FROM lth_pvr.pair_refreshes r WHERE r.exchange = p_order.exchange) THEN
            v_rule := 'pair_must_be_known_to_valr';
            v_error := format('pair %s is not one of %s''s pairs (lth_pvr.pairs, refreshed from %s)', p_order.pair,
                              p_order.exchange, p_order.exchange);
        ELSE
            PERFORM lth_pvr.log_order_event(p_order.exchange_order_id, p_order.exchange_account_id, 'system',
                'insert', 'pair_unchecked', NULL, p_order.status, NULL,
                format('pair %s is not in lth_pvr.pairs, which was never refreshed from %s: its rules were not checked '
                       '(run `valr-monitor pairs`)', p_order.pair, p_order.exchange),
                '{}'::jsonb);
            RETURN;
        END IF;
    ELSIF p_pair.refreshed_at IS NOT NULL AND NOT p_pair.active THEN
        v_rule := 'pair_must_be_active';
        v_error := format('pair %s is not active on VALR', p_order.pair);
    ELSIF p_order.qty < p_pair.min_base_amount THEN
        v_rule := 'qty_must_reach_min_base_amount';
        v_error := format('qty %s is below VALR''s minimum %s for %s', p_order.qty, p_pair.min_base_amount, p_order.pair);
    ELSIF p_order.qty > p_pair.max_base_amount THEN
        v_rule := 'qty_must_not_exceed_max_base_amount';
        v_error := format('qty %s is above VALR''s maximum %s for %s', p_order.qty, p_pair.max_base_amount, p_order.pair);
    ELSIF v_value < p_pair.min_quote_amount THEN
        v_rule := 'value_must_reach_min_quote_amount';
        v_error := format('qty × price %s (at %s) is below VALR''s minimum total %s for %s', v_value, v_price,
                          p_pair.min_quote_amount, p_order.pair);
    ELSIF v_value > p_pair.max_quote_amount THEN
        v_rule := 'value_must_not_exceed_max_quote_amount';
        v_error := format('qty × price %s (at %s) is above VALR''s maximum total %s for %s', v_value, v_price,
                          p_pair.max_quote_amount, p_order.pair);
    ELSIF p_pair.order_types IS NOT NULL AND NOT v_type = ANY (p_pair.order_types) THEN
        v_rule := 'order_type_must_be_supported_by_pair';
        v_error := format('VALR does not accept %s orders on %s (order types: %s)', v_type, p_order.pair,
                          array_to_string(p_pair.order_types, ', '));
    END IF;
    IF v_rule IS NOT NULL THEN
        RAISE EXCEPTION '%', v_error
            USING ERRCODE = 'check_violation', CONSTRAINT = v_rule,
                  TABLE = 'exchange_orders', SCHEMA = 'lth_pvr';
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.check_pair_rules(lth_pvr.exchange_orders, lth_pvr.pairs) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.check_pair_rules(lth_pvr.exchange_orders, lth_pvr.pairs) TO valr_operator;
