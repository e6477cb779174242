-- Owns: an intent's executed quantity across all its orders (order_executed_qty of each; a pending
-- replacement counts its whole qty, since it will execute up to that), optionally leaving one order
-- out. The intent invariant: this never exceeds what the intent asked (its first order's qty) —
-- checked when a replacement is inserted (exchange_orders_intent_invariant) and used by
-- replace_after_fallback to size the replacement.
CREATE OR REPLACE FUNCTION lth_pvr.intent_executed_qty(p_intent_id uuid, p_except uuid DEFAULT NULL)
RETURNS numeric
LANGUAGE sql STABLE
SET search_path = lth_pvr, pg_temp
AS $$
    SELECT coalesce(sum(CASE WHEN o.status IN ('pending', 'placing') THEN o.qty
                             ELSE lth_pvr.order_executed_qty(o) END), 0)
      FROM lth_pvr.exchange_orders o
     WHERE o.intent_id = p_intent_id
       AND o.exchange_order_id IS DISTINCT FROM p_except
$$;

REVOKE ALL ON FUNCTION lth_pvr.intent_executed_qty(uuid, uuid) FROM PUBLIC;
