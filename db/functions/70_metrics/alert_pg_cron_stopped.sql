-- Owns: the alert pg_cron_stopped, critical: pg_cron's launcher is not running (pg_cron_state): said at once, whatever the
-- last tick's age (not loaded, extension not created, no worker free).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_pg_cron_stopped(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'pg_cron_stopped'::text, 'critical'::text, 0::numeric, 1::numeric, cron.detail
      FROM lth_pvr.pg_cron_state() cron
     WHERE cron.launcher = 'stopped'
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_pg_cron_stopped(timestamptz) FROM PUBLIC;
