-- Owns: what the worker's price watcher needs in one cheap call: the pairs to subscribe to
-- (price_watch_pairs), how often to read them over REST while the trade socket is down, and how long
-- a silent trade socket is trusted.
CREATE OR REPLACE FUNCTION lth_pvr.prices_to_watch()
RETURNS TABLE (pairs text[], rest_poll_seconds numeric, quiet_seconds numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT coalesce((SELECT array_agg(w.pair ORDER BY w.pair) FROM lth_pvr.price_watch_pairs() w), '{}'),
           lth_pvr.setting('price_rest_poll_seconds'),
           lth_pvr.setting('price_socket_quiet_seconds')
$$;

REVOKE ALL ON FUNCTION lth_pvr.prices_to_watch() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.prices_to_watch() TO valr_worker;
