-- Owns: what an intent asked for — the qty of its first order: the earliest (created_at, then id) of
-- its orders that replaces nothing. Every later order of the intent (a fallback's replacement, a
-- person's INSERT, place_intent_remainder) is measured against it by the intent invariant
-- (exchange_orders_intent_invariant); v_intents shows it as the intent's qty; the alert
-- intent_over_executed compares what executed with it. NULL when the intent has no such order.
-- SECURITY DEFINER: v_intents calls it for readers, who may not read the table.
CREATE OR REPLACE FUNCTION lth_pvr.intent_asked_qty(p_intent_id uuid)
RETURNS numeric
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT o.qty
      FROM lth_pvr.exchange_orders o
     WHERE o.intent_id = p_intent_id AND o.replaces_order_id IS NULL
     ORDER BY o.created_at, o.exchange_order_id
     LIMIT 1
$$;

REVOKE ALL ON FUNCTION lth_pvr.intent_asked_qty(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.intent_asked_qty(uuid) TO valr_reader;
