-- Owns: a new process under a known worker id (a restart under the same identity, perhaps after
-- kill -9): the WebSocket sessions its previous process left open are closed, and its leases start a
-- new tenure (acquired_at, watch_ended_at cleared), so account_work has the new process reopen and
-- reconcile every subaccount with open orders at once. Called by worker_started (every start) and
-- worker_heartbeat (a heartbeat from another pid or host under the same id).
CREATE OR REPLACE FUNCTION lth_pvr.begin_worker_tenure(
    p_worker_id text,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    UPDATE lth_pvr.ws_sessions s
       SET closed_at = p_now, close_reason = 'worker restarted: its previous process left it open'
     WHERE s.worker_id = p_worker_id AND s.closed_at IS NULL;
    UPDATE lth_pvr.subaccount_leases l
       SET acquired_at = p_now, watch_ended_at = NULL
     WHERE l.worker_id = p_worker_id;
$$;

REVOKE ALL ON FUNCTION lth_pvr.begin_worker_tenure(text, timestamptz) FROM PUBLIC;
