-- Owns: the open statuses: pending, placing, submitted (the order may still execute). Its own list,
-- not NOT is_final: inlined, it is the predicate of the partial indexes on open orders
-- (exchange_orders_account_open_idx, one_open_order_per_intent), so their plans use them.
CREATE OR REPLACE FUNCTION lth_pvr.is_open(p_status text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT p_status IN ('pending', 'placing', 'submitted')
$$;

REVOKE ALL ON FUNCTION lth_pvr.is_open(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.is_open(text) TO valr_reader;
