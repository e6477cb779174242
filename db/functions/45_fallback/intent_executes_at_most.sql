-- Owns: how much an intent may have executed once every order of it is over: the sum of
-- order_executes_at_most over all its orders (finished ones: what they executed; live ones: their
-- whole quantity). The intent invariant: this never exceeds intent_asked_qty — refused by the
-- trigger exchange_orders_intent_invariant for every writer; replace_after_fallback and
-- place_intent_remainder size what they place by the difference.
CREATE OR REPLACE FUNCTION lth_pvr.intent_executes_at_most(p_intent_id uuid)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT coalesce(sum(lth_pvr.order_executes_at_most(o)), 0)
              FROM lth_pvr.exchange_orders o
             WHERE o.intent_id = p_intent_id);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.intent_executes_at_most(uuid) FROM PUBLIC;
