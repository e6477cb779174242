-- Owns: the pair rules the worker checks an order against before it sends it (the insert trigger
-- already refused what breaks them; this is the worker's last look, from the same table), of one
-- exchange (VALR's by default; a ccxt exchange's symbols are ccxt's unified ones).
CREATE OR REPLACE FUNCTION lth_pvr.pair_rules(p_exchange text DEFAULT 'valr')
RETURNS TABLE (pair text, base_decimal_places int, tick_size numeric, min_base_amount numeric,
               max_base_amount numeric, min_quote_amount numeric, max_quote_amount numeric,
               active boolean, order_types text[], refreshed_at timestamptz)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT p.pair, p.base_decimal_places, p.tick_size, p.min_base_amount, p.max_base_amount,
           p.min_quote_amount, p.max_quote_amount, p.active, p.order_types, p.refreshed_at
      FROM lth_pvr.pairs p
     WHERE p.exchange = p_exchange
     ORDER BY p.pair
$$;

REVOKE ALL ON FUNCTION lth_pvr.pair_rules(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.pair_rules(text) TO valr_worker, valr_reader;
