-- Owns: why a finished order leaves its intent short with nothing to place the rest, so that a person
-- decides (place_intent_remainder), or NULL:
--   replacement_failed  a fallback's market replacement failed (VALR refused it, or its placement lost)
--   remainder_unknown   the fallback fired but VALR did not state the remainder
--   refused             the fallback's remainder broke the pair's rules (check_pair_rules)
--   market_cut_short    a market order VALR ended before executing all of it (market_order_cut_short)
-- A remainder below the pair's minimum (fallback_outcome below_minimum) is not among them: nobody may
-- place it (VALR and place_intent_remainder refuse it), so the intent is as done as VALR allows; the
-- fallback_not_replaced warning still says it. v_intents (needs_attention), alert_replacement_failed
-- and alert_market_slippage read it. SQL, so it is inlined.
CREATE OR REPLACE FUNCTION lth_pvr.order_needs_attention(p_order lth_pvr.exchange_orders)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN p_order.replaces_order_id IS NOT NULL AND p_order.status = 'failed' THEN 'replacement_failed'
                WHEN p_order.fallback_outcome IN ('remainder_unknown', 'refused') THEN p_order.fallback_outcome
                WHEN p_order.order_type = 'market' AND p_order.status = 'cancelled'
                     AND lth_pvr.market_order_cut_short(p_order) THEN 'market_cut_short'
           END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_needs_attention(lth_pvr.exchange_orders) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.order_needs_attention(lth_pvr.exchange_orders) TO valr_reader;
