-- Owns: a worker process starting. Unlike a heartbeat, a start is always a new process, even when
-- its pid and host repeat (a container whose worker is pid 1): its row (host, pid, pid_namespace,
-- started_at, alive again, no task failure yet) and, when its id was seen before, a new tenure (begin_worker_tenure) — a
-- restart under the same --worker-id recovers its leases at once.
-- Returns the other workers this one may have to wait for: those not stopped holding an unexpired
-- lease, and those on its host in its PID namespace (`same_namespace`: the caller checks their
-- pids and hands the dead ones to take_over_dead_workers); the rest are said in its log (why it waits).
CREATE OR REPLACE FUNCTION lth_pvr.worker_started(
    p_worker_id text,
    p_host text,
    p_pid int,
    p_pid_namespace text,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (worker_id text, host text, pid int, started_at timestamptz, last_seen_at timestamptz,
               leases int, leases_expire_at timestamptz, same_namespace boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_known boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lth_pvr.acquire_leases'));
    SELECT EXISTS (SELECT 1 FROM lth_pvr.workers w WHERE w.worker_id = p_worker_id) INTO v_known;
    INSERT INTO lth_pvr.workers AS w (worker_id, host, pid, pid_namespace, started_at, last_seen_at)
    VALUES (p_worker_id, coalesce(p_host, ''), p_pid, p_pid_namespace, p_now, p_now)
    ON CONFLICT (worker_id) DO UPDATE
       SET host = EXCLUDED.host, pid = EXCLUDED.pid, pid_namespace = EXCLUDED.pid_namespace,
           started_at = EXCLUDED.started_at, last_seen_at = greatest(w.last_seen_at, EXCLUDED.last_seen_at),
           stopped_at = NULL, task_failures = 0, task_failed_at = NULL, task_failure = NULL;
    IF v_known THEN
        PERFORM lth_pvr.begin_worker_tenure(p_worker_id, p_now);
    END IF;

    RETURN QUERY
        SELECT w.worker_id, w.host, w.pid, w.started_at, w.last_seen_at,
               count(l.exchange_account_id)::int, max(l.expires_at),
               coalesce(w.host = coalesce(p_host, '') AND w.pid_namespace = p_pid_namespace, false)
          FROM lth_pvr.workers w
          LEFT JOIN lth_pvr.live_leases(p_now) l ON l.worker_id = w.worker_id
         WHERE w.worker_id <> p_worker_id AND w.stopped_at IS NULL
         GROUP BY w.worker_id
        HAVING count(l.exchange_account_id) > 0
            OR (p_pid_namespace IS NOT NULL AND w.host = coalesce(p_host, '') AND w.pid_namespace = p_pid_namespace)
         ORDER BY w.worker_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.worker_started(text, text, int, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.worker_started(text, text, int, text, timestamptz) TO valr_worker;
