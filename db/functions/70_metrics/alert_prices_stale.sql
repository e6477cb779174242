-- Owns: the alert prices_stale, critical: submitted orders with an armed price fallback (fallback_armed) whose pair has had
-- no price received (trade socket or REST) for over price_stale_alert_seconds since VALR accepted
-- them: their price trigger is blind.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_prices_stale(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'prices_stale'::text, 'critical'::text, round(x.oldest, 2), s.v,
           format('%s order(s) with a price fallback have had no price of %s for over %s seconds: '
                  'their price trigger cannot fire', x.n, x.pairs, s.v)
      FROM (SELECT (SELECT lth_pvr.setting('price_stale_alert_seconds')) AS v) s,
           LATERAL (SELECT count(*) AS n,
                           max(extract(epoch FROM p_now - greatest(o.submitted_at, m.received_at))) AS oldest,
                           string_agg(DISTINCT o.pair, ', ') AS pairs
                      FROM lth_pvr.exchange_orders o
                      LEFT JOIN lth_pvr.market_prices m ON m.exchange = o.exchange AND m.pair = o.pair
                     WHERE o.fallback_price_move IS NOT NULL
                       AND lth_pvr.fallback_armed(o.status, o.fallback_requested_at, o.cancel_requested_at)
                       AND greatest(o.submitted_at, m.received_at) < p_now - make_interval(secs => s.v)) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_prices_stale(timestamptz) FROM PUBLIC;
