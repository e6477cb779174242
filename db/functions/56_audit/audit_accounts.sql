-- Owns: the accounts one audit reads from VALR (its account, or every account VALR's calls reach:
-- on_valr_default_key), with the
-- subaccount id VALR's REST calls name.
CREATE OR REPLACE FUNCTION lth_pvr.audit_accounts(p_audit_run_id bigint)
RETURNS TABLE (exchange_account_id uuid, subaccount_id text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT a.exchange_account_id, a.subaccount_id
      FROM lth_pvr.audit_runs r
      JOIN lth_pvr.exchange_accounts a
        ON r.exchange_account_id IS NULL OR a.exchange_account_id = r.exchange_account_id
     WHERE r.audit_run_id = p_audit_run_id
       AND lth_pvr.on_valr_default_key(a.exchange, a.credential_ref)
     ORDER BY a.subaccount_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.audit_accounts(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.audit_accounts(bigint) TO valr_worker;
