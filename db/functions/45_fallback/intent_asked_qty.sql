-- Owns: what an intent asked for — the qty of its first order (intent_first_order). Every later order
-- of the intent (a fallback's replacement, a person's INSERT, place_intent_remainder) is measured
-- against it by the intent invariant (exchange_orders_intent_invariant); v_intents shows it as the
-- intent's qty; the alert intent_over_executed compares what executed with it. NULL when the intent
-- has no first order.
CREATE OR REPLACE FUNCTION lth_pvr.intent_asked_qty(p_intent_id uuid)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT o.qty FROM lth_pvr.exchange_orders o
             WHERE o.exchange_order_id = lth_pvr.intent_first_order(p_intent_id));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.intent_asked_qty(uuid) FROM PUBLIC;
