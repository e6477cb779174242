-- Owns: every VALR transaction of every account, newest first, with what it is (the category of
-- lth_pvr.transaction_types; `unknown` for a type not listed there: alert
-- ledger_unknown_transaction_type), its order (additionalInfo.orderId) and the catch-up's state.
CREATE OR REPLACE VIEW lth_pvr.v_account_activity AS
    SELECT t.transaction_id, t.exchange_account_id, a.subaccount_id, t.event_at, t.transaction_type,
           coalesce(k.category, 'unknown') AS category, t.description,
           t.debit_currency, t.debit_value, t.credit_currency, t.credit_value, t.fee_currency, t.fee_value,
           t.additional_info->>'orderId' AS ext_order_id, t.source, t.recorded_at, a.exchange
      FROM lth_pvr.account_transactions t
      JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
      LEFT JOIN lth_pvr.transaction_types k USING (transaction_type)
     ORDER BY t.event_at DESC, t.transaction_id DESC;

REVOKE ALL ON lth_pvr.v_account_activity FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_account_activity TO valr_reader;
