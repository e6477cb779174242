-- Owns: every audit finding with the day its run audited and the account's subaccount id; the
-- unresolved ones are what the ledger_mismatch alert counts.
CREATE OR REPLACE VIEW lth_pvr.v_audit_findings AS
    SELECT f.finding_id, f.audit_run_id, r.day, f.kind, f.exchange_account_id, a.subaccount_id,
           f.exchange_order_id, f.ext_order_id, f.transaction_ids, f.currency, f.valr_trades, f.our_fills,
           f.valr_qty, f.our_qty, f.valr_fee, f.our_fee, f.valr_balance, f.our_balance, f.found_at,
           f.resolved_at, f.resolution, f.resolved_by, f.transaction_id, a.exchange
      FROM lth_pvr.audit_findings f
      JOIN lth_pvr.audit_runs r USING (audit_run_id)
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = f.exchange_account_id;

REVOKE ALL ON lth_pvr.v_audit_findings FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_audit_findings TO valr_reader;
