-- Owns: the alert ledger_mismatch, critical: audit findings not resolved (a trade, fee or balance of
-- VALR's that the database does not match; see `valr-monitor audit`).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_ledger_mismatch(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'ledger_mismatch'::text, 'critical'::text, count(*)::numeric, 0::numeric,
           format('%s unresolved audit finding(s): %s', count(*),
                  left(string_agg(format('#%s %s %s', f.finding_id, f.kind,
                                         coalesce(f.ext_order_id, f.currency)), ', ' ORDER BY f.finding_id), 400))
      FROM lth_pvr.audit_findings f
     WHERE f.resolved_at IS NULL AND f.found_at <= p_now
    HAVING count(*) > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_ledger_mismatch(timestamptz) FROM PUBLIC;
