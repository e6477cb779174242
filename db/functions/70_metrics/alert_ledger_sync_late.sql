-- Owns: the alert ledger_sync_late, warning: accounts not synced within twice ledger_sync_minutes (no
-- worker syncing).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_ledger_sync_late(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'ledger_sync_late'::text, 'warning'::text, count(*)::numeric, s.late_minutes,
           format('%s account(s) whose transaction history was not read within %s minutes', count(*), s.late_minutes)
      FROM lth_pvr.ledger_cursors c,
           (SELECT 2 * lth_pvr.setting('ledger_sync_minutes') AS late_minutes) s
     WHERE c.synced_at < p_now - make_interval(mins => s.late_minutes::int)
     GROUP BY s.late_minutes
    HAVING count(*) > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_ledger_sync_late(timestamptz) FROM PUBLIC;
