-- Owns: a worker reporting itself alive (workers.last_seen_at). A worker id seen again after
-- worker_stopped (or retire_lost_workers) is alive again. "Live" = last_seen_at within the lease
-- TTL / heartbeat threshold and stopped_at null; v_alerts shows stale workers and the absence of any
-- live one. A new process under a known worker id (another pid or host: a restart, perhaps after
-- kill -9) starts afresh (begin_worker_tenure); worker_started does the same at every start.
CREATE OR REPLACE FUNCTION lth_pvr.worker_heartbeat(
    p_worker_id text,
    p_host text,
    p_pid int,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_before lth_pvr.workers%ROWTYPE;
BEGIN
    SELECT * INTO v_before FROM lth_pvr.workers w WHERE w.worker_id = p_worker_id FOR UPDATE;
    INSERT INTO lth_pvr.workers AS w (worker_id, host, pid, started_at, last_seen_at)
    VALUES (p_worker_id, coalesce(p_host, ''), p_pid, p_now, p_now)
    ON CONFLICT (worker_id) DO UPDATE
       SET host = EXCLUDED.host,
           pid = EXCLUDED.pid,
           last_seen_at = greatest(w.last_seen_at, EXCLUDED.last_seen_at),
           started_at = CASE WHEN w.stopped_at IS NOT NULL OR w.pid IS DISTINCT FROM EXCLUDED.pid
                               OR w.host <> EXCLUDED.host
                             THEN EXCLUDED.started_at ELSE w.started_at END,
           stopped_at = NULL;
    IF v_before.worker_id IS NOT NULL
       AND (v_before.pid IS DISTINCT FROM p_pid OR v_before.host <> coalesce(p_host, '')) THEN
        PERFORM lth_pvr.begin_worker_tenure(p_worker_id, p_now);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.worker_heartbeat(text, text, int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.worker_heartbeat(text, text, int, timestamptz) TO valr_worker;
