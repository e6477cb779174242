-- Owns: every ledger audit with its verdict and counts, newest first, its account's subaccount id
-- (NULL account: every account).
CREATE OR REPLACE VIEW lth_pvr.v_audit_runs AS
    SELECT r.audit_run_id, r.day, r.exchange_account_id, a.subaccount_id, r.ran_by, r.requested_at,
           r.started_at, r.finished_at, r.verdict, r.orders_compared, r.currencies_compared,
           r.currencies_unsettled, r.checkpoints_set, r.findings, r.findings_resolved, r.error, a.exchange
      FROM lth_pvr.audit_runs r
      LEFT JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
     ORDER BY r.audit_run_id DESC;

REVOKE ALL ON lth_pvr.v_audit_runs FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_audit_runs TO valr_reader;
