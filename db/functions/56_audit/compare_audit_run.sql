-- Owns: the audit's comparison, once VALR's history and balances are recorded: the trade check
-- (audit_trades) and the balance check (audit_balances) of one unfinished run, their counts kept on
-- the run; an earlier open finding about the same order or currency is superseded by this run's
-- (supersede_audit_findings), one about an order that matches now is resolved (resolve_matched_findings:
-- its fills arrived since). Returns the run's findings (the caller fetches the fills of a `missing_fill`
-- with an order over REST, then resolve_matched_findings again). A finished run is refused.
CREATE OR REPLACE FUNCTION lth_pvr.compare_audit_run(p_audit_run_id bigint, p_now timestamptz DEFAULT now())
RETURNS SETOF lth_pvr.audit_findings
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_orders int;
    v_balances record;
BEGIN
    PERFORM 1 FROM lth_pvr.audit_runs r
      WHERE r.audit_run_id = p_audit_run_id AND r.finished_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit_run_must_be_unfinished: run % is finished or unknown', p_audit_run_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_orders := lth_pvr.audit_trades(p_audit_run_id, p_now);
    SELECT * INTO v_balances FROM lth_pvr.audit_balances(p_audit_run_id, p_now);
    PERFORM lth_pvr.supersede_audit_findings(p_audit_run_id, p_now);
    PERFORM lth_pvr.resolve_matched_findings(p_audit_run_id, format('matched at audit #%s', p_audit_run_id), p_now);
    UPDATE lth_pvr.audit_runs r
       SET orders_compared = v_orders, currencies_compared = v_balances.compared,
           currencies_unsettled = v_balances.unsettled, checkpoints_set = v_balances.checkpoints_set
     WHERE r.audit_run_id = p_audit_run_id;
    RETURN QUERY SELECT * FROM lth_pvr.audit_findings f WHERE f.audit_run_id = p_audit_run_id
                  ORDER BY f.finding_id;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.compare_audit_run(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.compare_audit_run(bigint, timestamptz) TO valr_worker;
