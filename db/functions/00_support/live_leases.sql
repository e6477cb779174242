-- Owns: when a lease counts as held: its expiry is still ahead (an expired row may linger until its
-- worker renews or drops it; it holds nothing). Returns the rows of the leases held. SQL, so it is
-- inlined into its callers' plans (worker_leases, reconcile_open_orders, acquire_leases,
-- worker_started).
CREATE OR REPLACE FUNCTION lth_pvr.live_leases(p_now timestamptz)
RETURNS SETOF lth_pvr.subaccount_leases
LANGUAGE sql STABLE
AS $$
    SELECT l.*
      FROM lth_pvr.subaccount_leases l
     WHERE l.expires_at > p_now
$$;

REVOKE ALL ON FUNCTION lth_pvr.live_leases(timestamptz) FROM PUBLIC;
