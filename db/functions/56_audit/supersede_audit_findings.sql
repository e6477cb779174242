-- Owns: **one open finding per order or currency**: a run's new finding resolves the unresolved ones
-- of earlier runs about the same account, kind and order (or currency) — "superseded by finding #n",
-- by `audit` — so a difference found again every day is one line of the ledger_mismatch alert, with
-- the latest amounts. Returns the findings superseded.
CREATE OR REPLACE FUNCTION lth_pvr.supersede_audit_findings(p_audit_run_id bigint, p_now timestamptz DEFAULT now())
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    v_n int;
BEGIN
    UPDATE lth_pvr.audit_findings old
       SET resolved_at = p_now, resolved_by = 'audit',
           resolution = format('superseded by finding #%s (audit #%s)', new.finding_id, p_audit_run_id)
      FROM lth_pvr.audit_findings new
     WHERE new.audit_run_id = p_audit_run_id AND old.audit_run_id <> p_audit_run_id
       AND old.resolved_at IS NULL AND old.exchange_account_id = new.exchange_account_id
       AND old.kind = new.kind AND old.ext_order_id IS NOT DISTINCT FROM new.ext_order_id
       AND old.currency IS NOT DISTINCT FROM new.currency;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.supersede_audit_findings(bigint, timestamptz) FROM PUBLIC;
