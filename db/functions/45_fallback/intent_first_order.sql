-- Owns: which order is an intent's first — the one whose qty is what the intent asked
-- (intent_asked_qty): the earliest (created_at, then id) of its orders that replaces nothing. NULL when
-- it has none. v_intents applies the same rule in its aggregate (one pass over all intents; a test
-- checks they agree).
-- plpgsql, as intent_asked_qty, intent_executes_at_most and lock_intent: the invariant's trigger runs
-- them on every write to an intent that has orders, and plpgsql keeps their plans for the session (a
-- SQL function's is made on every call).
CREATE OR REPLACE FUNCTION lth_pvr.intent_first_order(p_intent_id uuid)
RETURNS uuid
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT o.exchange_order_id
              FROM lth_pvr.exchange_orders o
             WHERE o.intent_id = p_intent_id AND o.replaces_order_id IS NULL
             ORDER BY o.created_at, o.exchange_order_id
             LIMIT 1);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.intent_first_order(uuid) FROM PUBLIC;
