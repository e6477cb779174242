-- Owns: the staleness bound of a market price: fresh when both VALR's stamp (when it sent one) and
-- our receipt are within fallback_price_stale_seconds of p_now. The older of the two counts, so a
-- cached REST answer read just now does not pass for a new price. A stale price fires nothing.
CREATE OR REPLACE FUNCTION lth_pvr.market_price_is_fresh(
    p_valr_time timestamptz, p_received_at timestamptz, p_now timestamptz
)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(least(p_valr_time, p_received_at), p_received_at)
           >= p_now - make_interval(secs => lth_pvr.setting('fallback_price_stale_seconds'))
$$;

REVOKE ALL ON FUNCTION lth_pvr.market_price_is_fresh(timestamptz, timestamptz, timestamptz) FROM PUBLIC;
