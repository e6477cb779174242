-- Owns: which pairs the worker watches live prices for. For now every pair with an open order
-- (pending, placing or submitted). The fallback rules narrow this to orders with a price trigger.
CREATE OR REPLACE FUNCTION lth_pvr.price_watch_pairs()
RETURNS TABLE (pair text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT DISTINCT o.pair
      FROM lth_pvr.exchange_orders o
     WHERE o.status IN ('pending', 'placing', 'submitted')
     ORDER BY o.pair
$$;

REVOKE ALL ON FUNCTION lth_pvr.price_watch_pairs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.price_watch_pairs() TO valr_worker;
