-- Owns: which pairs of an exchange (VALR's by default) the worker watches live prices for: the pairs of open orders with a price
-- fallback not yet requested (the only reader of live prices is the price trigger), each with
-- `watched_since`, when its oldest such order was created (a pair never priced is stale from then).
CREATE OR REPLACE FUNCTION lth_pvr.price_watch_pairs(p_exchange text DEFAULT 'valr')
RETURNS TABLE (pair text, watched_since timestamptz)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT o.pair, min(o.created_at)
      FROM lth_pvr.exchange_orders o
     WHERE o.exchange = p_exchange
       AND lth_pvr.is_open(o.status)
       AND o.fallback_price_move IS NOT NULL
       AND o.fallback_requested_at IS NULL
     GROUP BY o.pair
     ORDER BY o.pair
$$;

REVOKE ALL ON FUNCTION lth_pvr.price_watch_pairs(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.price_watch_pairs(text) TO valr_worker;
