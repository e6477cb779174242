-- Owns: the alert safety_net_late, critical: no safety-net tick (safety_net_runs, written by the tick itself, so it works
-- wherever pg_cron lives) within 2 x safety_net_tick_minutes; never ticked: counted from the first
-- migration. Not said while pg_cron_stopped or safety_net_job_missing say more.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_safety_net_late(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'safety_net_late'::text, 'critical'::text, round(extract(epoch FROM p_now - sn.since) / 60, 2),
           2 * s.v,
           CASE WHEN sn.ever
                THEN format('no safety-net tick for %s minutes: the pg_cron job is not running',
                            round(extract(epoch FROM p_now - sn.since) / 60))
                ELSE format('the safety net has never ticked since the first migration %s minutes ago: '
                            'the pg_cron job is not running', round(extract(epoch FROM p_now - sn.since) / 60))
           END || CASE
                WHEN cron.job = 'failing' THEN format(' (%s)', cron.detail)
                WHEN cron.job = 'scheduled' THEN ' (the job is scheduled and active: see cron.job_run_details, '
                                                 'max_worker_processes and cron.max_running_jobs)'
                WHEN cron.launcher = 'running' THEN format(' (pg_cron''s launcher runs: the job is missing, inactive '
                                                           'or failing in database %s — see cron.job there)',
                                                           current_setting('cron.database_name', true))
                ELSE ' (pg_cron''s launcher cannot be seen: the functions'' owner lacks pg_read_all_stats)'
           END
      FROM (SELECT coalesce((SELECT max(r.ran_at) FROM lth_pvr.safety_net_runs r WHERE r.ran_at <= p_now),
                            (SELECT min(m.applied_at) FROM lth_pvr.schema_migrations m)) AS since,
                   EXISTS (SELECT 1 FROM lth_pvr.safety_net_runs r WHERE r.ran_at <= p_now) AS ever) sn,
           (SELECT (SELECT lth_pvr.setting('safety_net_tick_minutes')) AS v) s,
           lth_pvr.pg_cron_state() cron
     WHERE sn.since < p_now - make_interval(mins => (2 * s.v)::int)
       AND cron.launcher <> 'stopped' AND cron.job NOT IN ('missing', 'inactive')
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_safety_net_late(timestamptz) FROM PUBLIC;
