-- Owns: the alert ledger_late_transactions, critical: transactions the cursor-free re-scan recorded within
-- ledger_alert_hours (source 'rescan'): both the socket and the catch-up missed them.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_ledger_late_transactions(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'ledger_late_transactions'::text, 'critical'::text, count(*)::numeric, 0::numeric,
           format('%s transaction(s) found only by the re-scan (missed by the socket and the catch-up): %s',
                  count(*), left(string_agg(t.transaction_id || ' ' || t.transaction_type, ', '
                                            ORDER BY t.event_at), 400))
      FROM lth_pvr.account_transactions t
     WHERE t.recorded_at > p_now - make_interval(hours => (SELECT lth_pvr.setting('ledger_alert_hours'))::int)
       AND t.source = 'rescan'
    HAVING count(*) > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_ledger_late_transactions(timestamptz) FROM PUBLIC;
