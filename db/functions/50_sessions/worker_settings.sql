-- Owns: the settings a worker reads once at start (lth_pvr.settings, like every other duration): the
-- lease TTL (its --lease-ttl flag, when given, wins) and VALR's budget of new WebSocket connections per
-- minute for the API key (session_open_within_budget counts it across workers).
CREATE OR REPLACE FUNCTION lth_pvr.worker_settings()
RETURNS TABLE (lease_ttl_seconds int, ws_connects_per_minute int)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT lth_pvr.setting('lease_ttl_seconds')::int, lth_pvr.setting('ws_connects_per_minute')::int
$$;

REVOKE ALL ON FUNCTION lth_pvr.worker_settings() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.worker_settings() TO valr_worker;
