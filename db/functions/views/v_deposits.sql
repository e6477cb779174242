-- Owns: every deposit of every account, as a strategy reads it (NOTIFY lth_pvr_deposit names the
-- transaction_id the moment one is recorded): one row per VALR transaction that is a deposit
-- (deposit_kind: 'fiat', 'crypto', 'internal' — a transfer in from another subaccount of the same
-- primary account), keyed by VALR's id (two deposits of the same amount on the same day are two
-- rows), `confirmed` true; plus the crypto deposits still confirming (NEW_PENDING_RECEIVE, not yet
-- credited): transaction_id NULL, `confirmed` false, with their confirmations and hash.
CREATE OR REPLACE VIEW lth_pvr.v_deposits AS
    SELECT t.transaction_id, t.exchange_account_id, a.subaccount_id, t.credit_currency AS currency,
           t.credit_value AS amount, lth_pvr.deposit_kind(t.transaction_type, t.credit_value, t.debit_value) AS kind,
           t.event_at, true AS confirmed, NULL::int AS confirmations,
           t.additional_info->>'transactionHash' AS transaction_hash, t.transaction_type, t.source, t.recorded_at,
           a.exchange
      FROM lth_pvr.account_transactions t
      JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
     WHERE lth_pvr.deposit_kind(t.transaction_type, t.credit_value, t.debit_value) IS NOT NULL
    UNION ALL
    SELECT NULL, p.exchange_account_id, a.subaccount_id, p.currency, p.amount, 'crypto', p.created_at, false,
           p.confirmations, p.transaction_hash, NULL, 'ws', p.updated_at, a.exchange
      FROM lth_pvr.pending_receives p
      JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
     WHERE p.credited_transaction_id IS NULL;

REVOKE ALL ON lth_pvr.v_deposits FROM PUBLIC;
GRANT SELECT ON lth_pvr.v_deposits TO valr_reader;
