-- Owns: the alert ledger_audit_failed, warning: a day the daily audit did not prove. A daily audit
-- (ran_by `cron`) that failed (VALR or the database could not be read) or has no verdict
-- 2 × audit_claim_seconds after it was asked (no worker ran it, or its worker died mid-way), unless a
-- later audit of that day for every account finished with a verdict (`valr-monitor audit --day D`:
-- what the operator runs; the daily job asks for each day once, it does not retry).
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_ledger_audit_failed(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'ledger_audit_failed'::text, 'warning'::text, count(*)::numeric, 0::numeric,
           format('%s day(s) the daily audit did not prove: %s', count(*),
                  left(string_agg(format('%s (%s)', r.day, coalesce(r.error, 'no verdict since '
                                         || to_char(r.requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI"Z"'))),
                                  ', ' ORDER BY r.day), 400))
      FROM lth_pvr.audit_runs r
     WHERE r.ran_by = 'cron'
       AND (r.verdict = 'failed'
            OR (r.verdict IS NULL
                AND r.requested_at < p_now - make_interval(secs => 2 * lth_pvr.setting('audit_claim_seconds'))))
       AND NOT EXISTS (SELECT 1
                         FROM lth_pvr.audit_runs later
                        WHERE later.day = r.day AND later.exchange_account_id IS NULL
                          AND later.audit_run_id > r.audit_run_id
                          AND later.verdict IN ('clean', 'mismatch'))
    HAVING count(*) > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_ledger_audit_failed(timestamptz) FROM PUBLIC;
