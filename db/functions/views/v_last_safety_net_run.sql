-- Owns: when the safety net last ran: the last row of safety_net_runs, plus — when pg_cron lives in
-- this database — the last cron.job_run_details row of this database's `%poll_orders%` job.
-- The view's owner reads cron, so readers need no `cron` grant. The definition is chosen when
-- migrate runs (re-run migrate after enabling pg_cron here); both have the same columns.
DO $do$
BEGIN
    IF to_regclass('cron.job_run_details') IS NOT NULL AND to_regclass('cron.job') IS NOT NULL THEN
        EXECUTE $v$
            CREATE OR REPLACE VIEW lth_pvr.v_last_safety_net_run AS
            SELECT r.run_id, r.ran_at, r.orders_due, r.notified,
                   c.jobid::bigint AS cron_jobid, c.status::text AS cron_status,
                   c.start_time AS cron_start_time, c.end_time AS cron_end_time,
                   c.return_message::text AS cron_return_message
              FROM (SELECT 1) AS one
              LEFT JOIN LATERAL (
                  SELECT * FROM lth_pvr.safety_net_runs x ORDER BY x.ran_at DESC, x.run_id DESC LIMIT 1
              ) r ON true
              LEFT JOIN LATERAL (
                  SELECT d.jobid, d.status, d.start_time, d.end_time, d.return_message
                    FROM cron.job_run_details d
                    JOIN cron.job j ON j.jobid = d.jobid
                   WHERE j.jobname LIKE '%poll_orders%'
                     AND j.database = current_database()
                   ORDER BY d.start_time DESC NULLS LAST, d.runid DESC
                   LIMIT 1
              ) c ON true
        $v$;
    ELSE
        EXECUTE $v$
            CREATE OR REPLACE VIEW lth_pvr.v_last_safety_net_run AS
            SELECT r.run_id, r.ran_at, r.orders_due, r.notified,
                   NULL::bigint AS cron_jobid, NULL::text AS cron_status,
                   NULL::timestamptz AS cron_start_time, NULL::timestamptz AS cron_end_time,
                   NULL::text AS cron_return_message
              FROM (SELECT 1) AS one
              LEFT JOIN LATERAL (
                  SELECT * FROM lth_pvr.safety_net_runs x ORDER BY x.ran_at DESC, x.run_id DESC LIMIT 1
              ) r ON true
        $v$;
    END IF;
END
$do$;

REVOKE ALL ON lth_pvr.v_last_safety_net_run FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_last_safety_net_run TO valr_reader;
