-- A worker restarted on the same host takes its dead predecessor's leases back at once (issue 21,
-- item 10), instead of waiting for them to expire. A pid proves a process gone only to a process
-- that sees the same pids: the machine's boot and its PID namespace. Each worker records them at
-- start (worker_started); take_over_dead_workers retires only a worker of the caller's host and
-- namespace whose pid the caller found not alive.
ALTER TABLE lth_pvr.workers ADD COLUMN pid_namespace text;

COMMENT ON COLUMN lth_pvr.workers.pid_namespace IS
    'the boot id and PID namespace of the worker''s process (NULL: unknown, e.g. not Linux): two workers '
    'with the same value see each other''s pids, so one may prove the other''s process gone';
