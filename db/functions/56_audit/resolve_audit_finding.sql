-- Owns: **a person's word on a finding**: resolved with how (required), by the session's user. A
-- resolved `balance_mismatch` re-opens its currency's balance check: the checkpoint is dropped and the
-- next audit takes VALR's settled balance as the new opening. Returns false when the finding is
-- unknown or already resolved.
CREATE OR REPLACE FUNCTION lth_pvr.resolve_audit_finding(
    p_finding_id bigint,
    p_how text,
    p_now timestamptz DEFAULT now()
)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_found lth_pvr.audit_findings;
BEGIN
    IF nullif(btrim(p_how), '') IS NULL THEN
        RAISE EXCEPTION 'resolution_must_say_how: say how finding % was resolved', p_finding_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE lth_pvr.audit_findings f
       SET resolved_at = p_now, resolution = p_how, resolved_by = session_user
     WHERE f.finding_id = p_finding_id AND f.resolved_at IS NULL
    RETURNING f.* INTO v_found;
    IF v_found.finding_id IS NULL THEN
        RETURN false;
    END IF;
    IF v_found.kind = 'balance_mismatch' THEN
        DELETE FROM lth_pvr.ledger_checkpoints k
         WHERE k.exchange_account_id = v_found.exchange_account_id AND k.currency = v_found.currency;
    END IF;
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.resolve_audit_finding(bigint, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.resolve_audit_finding(bigint, text, timestamptz) TO valr_operator;
