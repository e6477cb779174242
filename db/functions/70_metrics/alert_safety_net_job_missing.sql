-- Owns: the alert safety_net_job_missing, critical: pg_cron runs but this database's safety-net job is missing from cron.job or
-- inactive (seen only where pg_cron lives in this database).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_safety_net_job_missing(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'safety_net_job_missing'::text, 'critical'::text, 0::numeric, 1::numeric, cron.detail
      FROM lth_pvr.pg_cron_state() cron
     WHERE cron.launcher <> 'stopped' AND cron.job IN ('missing', 'inactive')
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_safety_net_job_missing(timestamptz) FROM PUBLIC;
