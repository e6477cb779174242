-- Owns: a worker's clean shutdown: stopped_at, and its leases released at once (another worker
-- takes the subaccounts at its next acquire_leases instead of waiting for the TTL).
CREATE OR REPLACE FUNCTION lth_pvr.worker_stopped(
    p_worker_id text,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    UPDATE lth_pvr.workers w SET stopped_at = p_now WHERE w.worker_id = p_worker_id;
    DELETE FROM lth_pvr.subaccount_leases l WHERE l.worker_id = p_worker_id;
$$;

REVOKE ALL ON FUNCTION lth_pvr.worker_stopped(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.worker_stopped(text, timestamptz) TO valr_worker;
