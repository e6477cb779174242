-- Owns: whether a worker keeps every account's socket open (`--max-session 0`): said at each start,
-- read by acquire_leases (which accounts it leases) and account_work (wants_session, may_close).
CREATE OR REPLACE FUNCTION lth_pvr.record_persistent_sessions(p_worker_id text, p_persistent boolean)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    UPDATE lth_pvr.workers SET persistent_sessions = p_persistent WHERE worker_id = p_worker_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_persistent_sessions(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_persistent_sessions(text, boolean) TO valr_worker;
