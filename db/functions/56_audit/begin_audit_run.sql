-- Owns: starting an audit asked for on the command line (`valr-monitor audit`): one audit_runs row,
-- ran_by `cli`, claimed and started at once by the caller. p_day NULL: yesterday (UTC);
-- p_exchange_account_id NULL: every account; an unknown account raises `exchange_account_must_exist`.
CREATE OR REPLACE FUNCTION lth_pvr.begin_audit_run(
    p_day date DEFAULT NULL,
    p_exchange_account_id uuid DEFAULT NULL,
    p_worker_id text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_exchange_account_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM lth_pvr.exchange_accounts a WHERE a.exchange_account_id = p_exchange_account_id) THEN
        RAISE EXCEPTION 'exchange_account_must_exist: no account %', p_exchange_account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    INSERT INTO lth_pvr.audit_runs (day, exchange_account_id, ran_by, requested_at, claimed_by, started_at)
    VALUES (coalesce(p_day, (p_now AT TIME ZONE 'UTC')::date - 1), p_exchange_account_id, 'cli', p_now,
            p_worker_id, p_now)
    RETURNING audit_run_id INTO v_id;
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.begin_audit_run(date, uuid, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.begin_audit_run(date, uuid, text, timestamptz) TO valr_worker;
