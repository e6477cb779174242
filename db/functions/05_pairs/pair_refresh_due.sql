-- Owns: whether an exchange's pair rules (VALR's by default) are due a refresh: never refreshed, or the last refresh is
-- older than the `pair_refresh_hours` setting. The worker asks at start and now and then.
CREATE OR REPLACE FUNCTION lth_pvr.pair_refresh_due(p_now timestamptz DEFAULT now(), p_exchange text DEFAULT 'valr')
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT coalesce(max(r.refreshed_at) <= p_now - make_interval(hours => lth_pvr.setting('pair_refresh_hours')::int),
                    true)
      FROM lth_pvr.pair_refreshes r
     WHERE r.exchange = p_exchange
$$;

REVOKE ALL ON FUNCTION lth_pvr.pair_refresh_due(timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.pair_refresh_due(timestamptz, text) TO valr_worker;
