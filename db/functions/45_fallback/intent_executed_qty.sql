-- Owns: what an intent executed across all its orders (order_executed_qty of each: our fills or
-- VALR's word, whichever is ahead) — what VALR did, never refused. The alert intent_over_executed
-- fires when this exceeds intent_asked_qty (an order placed elsewhere, VALR executing more than we
-- asked of an order): the invariant's own guard (intent_executes_at_most) can only refuse what we
-- insert.
CREATE OR REPLACE FUNCTION lth_pvr.intent_executed_qty(p_intent_id uuid)
RETURNS numeric
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(sum(lth_pvr.order_executed_qty(o)), 0)
      FROM lth_pvr.exchange_orders o
     WHERE o.intent_id = p_intent_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.intent_executed_qty(uuid) FROM PUBLIC;
