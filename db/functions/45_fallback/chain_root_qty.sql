-- Owns: what an intent asked for, seen from one of its orders: the qty of the first order of its
-- replacement chain (following replaces_order_id back to an order that replaces nothing).
CREATE OR REPLACE FUNCTION lth_pvr.chain_root_qty(p_exchange_order_id uuid)
RETURNS numeric
LANGUAGE sql STABLE
SET search_path = lth_pvr, pg_temp
AS $$
    WITH RECURSIVE chain AS (
        SELECT o.exchange_order_id, o.replaces_order_id, o.qty, 0 AS depth
          FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id
        UNION ALL
        SELECT p.exchange_order_id, p.replaces_order_id, p.qty, c.depth + 1
          FROM chain c JOIN lth_pvr.exchange_orders p ON p.exchange_order_id = c.replaces_order_id
         WHERE c.depth < 100
    )
    SELECT c.qty FROM chain c WHERE c.replaces_order_id IS NULL
$$;

REVOKE ALL ON FUNCTION lth_pvr.chain_root_qty(uuid) FROM PUBLIC;
