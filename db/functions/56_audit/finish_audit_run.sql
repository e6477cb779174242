-- Owns: **an audit's verdict**: `failed` when p_error is given (VALR or the database could not be read:
-- nothing proven), else `mismatch` when the run found anything — even what it resolved itself (a fill
-- was missed: the operator should know) — else `clean`. Keeps the counts of findings and of those
-- resolved. Returns the run.
CREATE OR REPLACE FUNCTION lth_pvr.finish_audit_run(
    p_audit_run_id bigint,
    p_error text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS lth_pvr.audit_runs
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_run lth_pvr.audit_runs;
BEGIN
    UPDATE lth_pvr.audit_runs r
       SET finished_at = p_now, error = left(p_error, 500),
           findings = s.n, findings_resolved = s.resolved,
           verdict = CASE WHEN p_error IS NOT NULL THEN 'failed' WHEN s.n > 0 THEN 'mismatch' ELSE 'clean' END
      FROM (SELECT count(*)::int AS n, (count(*) FILTER (WHERE f.resolved_at IS NOT NULL))::int AS resolved
              FROM lth_pvr.audit_findings f WHERE f.audit_run_id = p_audit_run_id) s
     WHERE r.audit_run_id = p_audit_run_id AND r.finished_at IS NULL
    RETURNING r.* INTO v_run;
    IF v_run.audit_run_id IS NULL THEN
        RAISE EXCEPTION 'audit_run_must_be_unfinished: run % is finished or unknown', p_audit_run_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_run;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.finish_audit_run(bigint, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.finish_audit_run(bigint, text, timestamptz) TO valr_worker;
