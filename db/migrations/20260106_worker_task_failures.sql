-- Every long-lived task of the worker is supervised (issue 21, item 15): an unexpected error is
-- logged with its traceback, the task restarted, and counted here (record_task_failure) so the
-- `worker_task_failed` alert tells a person. The count is this process's: worker_started resets it.
ALTER TABLE lth_pvr.workers
    ADD COLUMN task_failures int NOT NULL DEFAULT 0,
    ADD COLUMN task_failed_at timestamptz,
    ADD COLUMN task_failure text;

COMMENT ON COLUMN lth_pvr.workers.task_failures IS
    'unexpected errors of the worker process''s long-lived tasks since it started (each task restarted)';
COMMENT ON COLUMN lth_pvr.workers.task_failure IS 'the last one: the task and the error';

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('task_failure_alert_minutes', 60,
     'worker_task_failed fires while a live worker''s last task failure is this recent');
