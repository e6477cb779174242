-- Owns: a worker giving up one subaccount lease (it closed that socket).
CREATE OR REPLACE FUNCTION lth_pvr.release_lease(
    p_worker_id text,
    p_exchange_account_id uuid,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    DELETE FROM lth_pvr.subaccount_leases l
     WHERE l.worker_id = p_worker_id AND l.exchange_account_id = p_exchange_account_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.release_lease(text, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.release_lease(text, uuid, timestamptz) TO valr_worker;
