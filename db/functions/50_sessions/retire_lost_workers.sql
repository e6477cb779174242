-- Owns: retiring a worker that died without worker_stopped (kill -9, a lost host). A worker silent
-- for over worker_retire_seconds (settings; 60 s, under the stale_workers alert's 90) that holds no
-- unexpired lease — its leases were taken over or ran out — gets stopped_at, its WebSocket sessions
-- still open are closed ('worker lost: …') and its expired lease rows are dropped. Run by every live
-- worker's acquire_leases and by the safety-net cron tick (so it happens with no worker running too).
-- A retired worker that reports again (worker_heartbeat) is alive again; a session close it records
-- later changes nothing (the first close wins). Returns how many workers were retired.
CREATE OR REPLACE FUNCTION lth_pvr.retire_lost_workers(p_now timestamptz DEFAULT now())
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_lost text[];
BEGIN
    WITH lost AS (
        UPDATE lth_pvr.workers w
           SET stopped_at = p_now
         WHERE w.stopped_at IS NULL
           AND w.last_seen_at < p_now - make_interval(secs => lth_pvr.setting('worker_retire_seconds'))
           AND NOT EXISTS (SELECT 1 FROM lth_pvr.worker_leases(w.worker_id, p_now) l)
        RETURNING w.worker_id, w.last_seen_at
    ), closed AS (
        UPDATE lth_pvr.ws_sessions s
           SET closed_at = p_now,
               close_reason = format('worker lost: no heartbeat since %s', lost.last_seen_at)
          FROM lost
         WHERE s.worker_id = lost.worker_id AND s.closed_at IS NULL
    )
    SELECT array_agg(lost.worker_id) INTO v_lost FROM lost;
    IF v_lost IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM lth_pvr.subaccount_leases l WHERE l.worker_id = ANY (v_lost);
    RETURN cardinality(v_lost);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.retire_lost_workers(timestamptz) FROM PUBLIC;
