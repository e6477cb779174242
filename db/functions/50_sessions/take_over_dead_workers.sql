-- Owns: taking back at once the leases of workers that died on the caller's host (kill -9, then a
-- restart under a new id). `p_dead` lists the workers whose process the caller proved gone, as
-- worker_started returned them: [{"worker_id", "pid", "started_at"}] — no process of that pid alive
-- in its PID namespace, or the pid is the caller's own. Only a worker that is still that process
-- (same pid and started_at: not restarted meanwhile), not stopped, on the caller's host and in the
-- caller's PID namespace (the same boot and namespace: a pid means the same process to both) is
-- taken over, in one transaction under the lease lock: stopped_at, its open sessions closed, and
-- its leases passed to the caller in a new tenure (account_work has it reopen and reconcile them).
-- A live worker never loses a lease this way (its pid is alive, so it is never listed; a restarted
-- one no longer matches); one elsewhere keeps its leases until they expire (--lease-ttl).
-- Orders are claimed only through leases (claim_pending_orders, claim_due_polls, claim_cancel_requests,
-- claim_lost_placements), so a subaccount is never placed for by two live workers.
-- Returns the workers taken over and how many leases each passed on.
CREATE OR REPLACE FUNCTION lth_pvr.take_over_dead_workers(
    p_worker_id text,
    p_dead jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (worker_id text, pid int, leases int)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_me lth_pvr.workers%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lth_pvr.acquire_leases'));
    SELECT * INTO v_me FROM lth_pvr.workers w WHERE w.worker_id = p_worker_id AND w.stopped_at IS NULL;
    IF v_me.pid_namespace IS NULL OR jsonb_typeof(p_dead) IS DISTINCT FROM 'array' THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH gone AS (
        UPDATE lth_pvr.workers w
           SET stopped_at = p_now
          FROM jsonb_to_recordset(p_dead) AS d(worker_id text, pid int, started_at timestamptz)
         WHERE w.worker_id = d.worker_id AND w.worker_id <> p_worker_id
           AND w.pid = d.pid AND w.started_at = d.started_at AND w.stopped_at IS NULL
           AND w.host = v_me.host AND w.pid_namespace = v_me.pid_namespace
        RETURNING w.worker_id, w.pid
    ), closed AS (
        UPDATE lth_pvr.ws_sessions s
           SET closed_at = p_now,
               close_reason = format('worker lost: its process (pid %s) is gone; taken over by %s', gone.pid,
                                     p_worker_id)
          FROM gone
         WHERE s.worker_id = gone.worker_id AND s.closed_at IS NULL
    ), passed AS (
        UPDATE lth_pvr.subaccount_leases l
           SET worker_id = p_worker_id, acquired_at = p_now, watch_ended_at = NULL
          FROM gone
         WHERE l.worker_id = gone.worker_id
        RETURNING gone.worker_id
    )
    SELECT gone.worker_id, gone.pid, (SELECT count(*)::int FROM passed WHERE passed.worker_id = gone.worker_id)
      FROM gone
     ORDER BY gone.worker_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.take_over_dead_workers(text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.take_over_dead_workers(text, jsonb, timestamptz) TO valr_worker;
