-- Owns: resolving the order findings that match now (audit_order_totals, audit_order_finding), of the
-- run's account(s), this run's or an earlier one's: after the audit fetched a missing fill's trades over
-- REST and recorded them through record_fill, or when the worker recorded them since an earlier audit,
-- the order is compared again; matched, the finding is resolved with p_how, by `audit`. A finding still
-- unmatched stays open (the ledger_mismatch alert). Returns the findings resolved.
CREATE OR REPLACE FUNCTION lth_pvr.resolve_matched_findings(
    p_audit_run_id bigint,
    p_how text,
    p_now timestamptz DEFAULT now()
)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_n int;
BEGIN
    UPDATE lth_pvr.audit_findings f
       SET resolved_at = p_now, resolution = p_how, resolved_by = 'audit'
      FROM lth_pvr.audit_runs r
     WHERE r.audit_run_id = p_audit_run_id
       AND (r.exchange_account_id IS NULL OR f.exchange_account_id = r.exchange_account_id)
       AND f.resolved_at IS NULL AND f.ext_order_id IS NOT NULL
       AND f.exchange_order_id IS NOT NULL
       AND NOT EXISTS (
           SELECT 1 FROM lth_pvr.audit_order_totals(f.exchange_account_id, ARRAY[f.ext_order_id]) c
            WHERE lth_pvr.audit_order_finding(c.valr_trades, c.valr_qty, c.valr_fee,
                                              c.our_fills, c.our_qty, c.our_fee) IS NOT NULL);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.resolve_matched_findings(bigint, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.resolve_matched_findings(bigint, text, timestamptz) TO valr_worker;
