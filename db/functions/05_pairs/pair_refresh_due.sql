-- Owns: whether the pair rules are due a refresh from VALR: never refreshed, or the last refresh is
-- older than the `pair_refresh_hours` setting. The worker asks at start and now and then.
CREATE OR REPLACE FUNCTION lth_pvr.pair_refresh_due(p_now timestamptz DEFAULT now())
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT coalesce(max(r.refreshed_at) <= p_now - make_interval(hours => lth_pvr.setting('pair_refresh_hours')::int),
                    true)
      FROM lth_pvr.pair_refreshes r
$$;

REVOKE ALL ON FUNCTION lth_pvr.pair_refresh_due(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.pair_refresh_due(timestamptz) TO valr_worker;
