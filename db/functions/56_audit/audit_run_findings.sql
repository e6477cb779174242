-- Owns: what one audit found, as it stands now (resolved or not), for the report of `valr-monitor
-- audit` and the demo.
CREATE OR REPLACE FUNCTION lth_pvr.audit_run_findings(p_audit_run_id bigint)
RETURNS SETOF lth_pvr.audit_findings
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT * FROM lth_pvr.audit_findings f WHERE f.audit_run_id = p_audit_run_id ORDER BY f.finding_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.audit_run_findings(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.audit_run_findings(bigint) TO valr_worker, valr_reader;
