-- Owns: "a lease held by this worker": the accounts whose live lease (live_leases) is p_worker_id's.
-- Every function that works only on its caller's accounts (claims, due look-ups, fallbacks, unsent
-- placements, account_work, retire_lost_workers) selects them through this. SQL, so it is inlined
-- into their plans.
CREATE OR REPLACE FUNCTION lth_pvr.worker_leases(p_worker_id text, p_now timestamptz)
RETURNS SETOF lth_pvr.subaccount_leases
LANGUAGE sql STABLE
AS $$
    SELECT h.* FROM lth_pvr.live_leases(p_now) h WHERE h.worker_id = p_worker_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.worker_leases(text, timestamptz) FROM PUBLIC;
