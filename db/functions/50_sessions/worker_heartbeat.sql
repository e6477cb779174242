-- Owns: a worker reporting itself alive (workers.last_seen_at). A worker id seen again after
-- worker_stopped is alive again. "Live" = last_seen_at within the lease TTL / heartbeat threshold
-- and stopped_at null; v_alerts shows stale workers and the absence of any live one.
CREATE OR REPLACE FUNCTION lth_pvr.worker_heartbeat(
    p_worker_id text,
    p_host text,
    p_pid int,
    p_now timestamptz DEFAULT now()
)
RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    INSERT INTO lth_pvr.workers AS w (worker_id, host, pid, started_at, last_seen_at)
    VALUES (p_worker_id, coalesce(p_host, ''), p_pid, p_now, p_now)
    ON CONFLICT (worker_id) DO UPDATE
       SET host = EXCLUDED.host,
           pid = EXCLUDED.pid,
           last_seen_at = greatest(w.last_seen_at, EXCLUDED.last_seen_at),
           started_at = CASE WHEN w.stopped_at IS NOT NULL THEN EXCLUDED.started_at ELSE w.started_at END,
           stopped_at = NULL
$$;

REVOKE ALL ON FUNCTION lth_pvr.worker_heartbeat(text, text, int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.worker_heartbeat(text, text, int, timestamptz) TO valr_worker;
