-- Owns: **when the daily audit is due**: the pg_cron job `ledger_audit` (hourly; `valr-monitor
-- migrate` creates it) asks for yesterday's audit of every account once the hour (UTC) reaches
-- audit_hour_utc and no daily audit of yesterday was asked for yet: an audit_runs row ran_by `cron`
-- and NOTIFY lth_pvr_ledger_audit; a worker claims it (claim_ledger_audits) and runs it, as the CLI
-- would. SQL cannot call VALR. Returns the run asked for, NULL when none is due.
CREATE OR REPLACE FUNCTION lth_pvr.ledger_audit_tick(p_now timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_day date := (p_now AT TIME ZONE 'UTC')::date - 1;
    v_id  bigint;
BEGIN
    IF extract(hour FROM p_now AT TIME ZONE 'UTC') < lth_pvr.setting('audit_hour_utc')
       OR EXISTS (SELECT 1 FROM lth_pvr.audit_runs r WHERE r.ran_by = 'cron' AND r.day = v_day) THEN
        RETURN NULL;
    END IF;
    INSERT INTO lth_pvr.audit_runs (day, ran_by, requested_at) VALUES (v_day, 'cron', p_now)
    RETURNING audit_run_id INTO v_id;
    PERFORM pg_notify('lth_pvr_ledger_audit', v_id::text);
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_audit_tick(timestamptz) FROM PUBLIC;
