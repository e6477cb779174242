-- Owns: a worker's record of an unexpected error in one of its long-lived tasks (the lease watcher,
-- the listener, live prices, the fallback timer, the tick): counted (task_failures, since the
-- process started), the last one kept (task_failure, task_failed_at). The worker restarts the task;
-- the `worker_task_failed` alert tells a person to read the traceback in its log.
CREATE OR REPLACE FUNCTION lth_pvr.record_task_failure(
    p_worker_id text,
    p_task text,
    p_error text,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE sql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    UPDATE lth_pvr.workers w
       SET task_failures = w.task_failures + 1,
           task_failed_at = p_now,
           task_failure = left(format('%s: %s', p_task, p_error), 500)
     WHERE w.worker_id = p_worker_id
    RETURNING w.task_failures
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_task_failure(text, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_task_failure(text, text, text, timestamptz) TO valr_worker;
