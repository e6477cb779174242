-- Owns: handing out the audits the daily job asked for (ran_by `cron`, not finished) to a worker:
-- those never claimed, or claimed over audit_claim_seconds ago (that worker died). SKIP LOCKED: two
-- workers never run the same audit.
CREATE OR REPLACE FUNCTION lth_pvr.claim_ledger_audits(p_worker_id text, p_now timestamptz DEFAULT now())
RETURNS TABLE (audit_run_id bigint, day date, exchange_account_id uuid)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT r.audit_run_id FROM lth_pvr.audit_runs r
         WHERE r.finished_at IS NULL AND r.ran_by = 'cron'
           AND (r.started_at IS NULL
                OR r.started_at < p_now - make_interval(secs => lth_pvr.setting('audit_claim_seconds')))
         ORDER BY r.requested_at
           FOR UPDATE SKIP LOCKED
    )
    UPDATE lth_pvr.audit_runs r SET claimed_by = p_worker_id, started_at = p_now
      FROM due
     WHERE r.audit_run_id = due.audit_run_id
    RETURNING r.audit_run_id, r.day, r.exchange_account_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.claim_ledger_audits(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.claim_ledger_audits(text, timestamptz) TO valr_worker;
