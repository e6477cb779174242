-- Owns: what the worker's price watcher of one exchange (VALR's by default) needs in one cheap call: the pairs to subscribe to
-- (price_watch_pairs); which of them to read over REST now (rest_pairs): those without a price
-- received within price_rest_poll_seconds (a pair never priced: since it was first watched), and those
-- where a crossing's confirmation window is over and only a price read now can confirm it
-- (price_fallback_crossing.needs_price) — freshness is per pair, so a pair the trade socket does
-- not deliver, a silent socket and a lost one are all covered the same way, and a quiet market is
-- read at most that often; the REST interval itself; and how long a silent trade socket is trusted
-- before it is asked again and then dropped.
-- PL/pgSQL so its plan is kept (db/functions/README.md, Conventions).
CREATE OR REPLACE FUNCTION lth_pvr.prices_to_watch(p_exchange text DEFAULT 'valr', p_now timestamptz DEFAULT now())
RETURNS TABLE (pairs text[], rest_pairs text[], rest_poll_seconds numeric, quiet_seconds numeric)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH watched AS (
        SELECT w.pair, coalesce(m.received_at, w.watched_since) AS heard_at
          FROM lth_pvr.price_watch_pairs(p_exchange) w
          LEFT JOIN lth_pvr.market_prices m ON m.exchange = p_exchange AND m.pair = w.pair
    )
    SELECT coalesce((SELECT array_agg(w.pair ORDER BY w.pair) FROM watched w), '{}'),
           coalesce((SELECT array_agg(w.pair ORDER BY w.pair) FROM watched w
                      WHERE w.heard_at <= p_now - make_interval(secs => lth_pvr.setting('price_rest_poll_seconds'))
                         OR w.pair IN (SELECT c.pair FROM lth_pvr.price_fallback_crossing(NULL, p_now, p_exchange) c
                                        WHERE c.needs_price)),
                    '{}'),
           lth_pvr.setting('price_rest_poll_seconds'),
           lth_pvr.setting('price_socket_quiet_seconds');
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.prices_to_watch(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.prices_to_watch(text, timestamptz) TO valr_worker;
