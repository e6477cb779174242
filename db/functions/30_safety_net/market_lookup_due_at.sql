-- Owns: when a submitted market order with no final word is looked up over REST. VALR executes a
-- market order at once (IOC), so its final word comes within seconds; when its frames were lost it
-- would otherwise stay `submitted` until the safety net's 10-minute tick. First market_order_lookup_seconds
-- after VALR accepted it (submitted_at), then that wait doubling per poll since (the safety net's
-- spacing takes over before long).
-- Internal; mark_market_lookups_due and next_market_lookup_due use it. SQL, so it is inlined.
CREATE OR REPLACE FUNCTION lth_pvr.market_lookup_due_at(
    p_submitted_at timestamptz,
    p_last_polled_at timestamptz,
    p_poll_count int
)
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$
    SELECT greatest(p_last_polled_at, p_submitted_at)
           + make_interval(secs => lth_pvr.setting('market_order_lookup_seconds') * 2 ^ least(p_poll_count, 16))
$$;

REVOKE ALL ON FUNCTION lth_pvr.market_lookup_due_at(timestamptz, timestamptz, int) FROM PUBLIC;
