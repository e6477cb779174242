-- Owns: the alert ledger_sync_failing, warning: accounts whose last ledger sync failed and none has
-- succeeded since.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_ledger_sync_failing(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'ledger_sync_failing'::text, 'warning'::text, count(*)::numeric, 0::numeric,
           format('%s account(s) whose ledger sync failed: %s', count(*),
                  left(string_agg(c.exchange_account_id || ': ' || c.sync_error, '; '), 400))
      FROM lth_pvr.ledger_cursors c
     WHERE c.sync_failed_at IS NOT NULL AND (c.synced_at IS NULL OR c.synced_at < c.sync_failed_at)
    HAVING count(*) > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_ledger_sync_failing(timestamptz) FROM PUBLIC;
