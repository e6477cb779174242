-- Owns: starting an audit asked for on the command line (`valr-monitor audit`): one audit_runs row,
-- ran_by `cli`, claimed and started at once by the caller. p_day NULL: yesterday (UTC);
-- p_exchange_account_id NULL: every account; an unknown account raises `exchange_account_must_exist`.
-- Returns the run's id and the day it audits.
CREATE OR REPLACE FUNCTION lth_pvr.begin_audit_run(
    p_day date DEFAULT NULL,
    p_exchange_account_id uuid DEFAULT NULL,
    p_worker_id text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (audit_run_id bigint, day date)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF p_exchange_account_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM lth_pvr.exchange_accounts a WHERE a.exchange_account_id = p_exchange_account_id) THEN
        RAISE EXCEPTION 'exchange_account_must_exist: no account %', p_exchange_account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN QUERY
    INSERT INTO lth_pvr.audit_runs AS r (day, exchange_account_id, ran_by, requested_at, claimed_by, started_at)
    VALUES (coalesce(p_day, (p_now AT TIME ZONE 'UTC')::date - 1), p_exchange_account_id, 'cli', p_now,
            p_worker_id, p_now)
    RETURNING r.audit_run_id, r.day;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.begin_audit_run(date, uuid, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.begin_audit_run(date, uuid, text, timestamptz) TO valr_worker;
