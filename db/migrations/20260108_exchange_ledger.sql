-- The ledger of accounts reached through ccxt (issue 25): Binance, Kraken and Coinbase deposits,
-- balances and transaction history into the same tables (account_transactions, balances,
-- pending_receives). ccxt's unified ledger types that VALR's words do not name get rows of their own
-- (ccxt_transaction_item maps ccxt's `type` to these words); deposits and withdrawals use VALR's.
INSERT INTO lth_pvr.transaction_types (transaction_type, category) VALUES
    ('TRADE', 'trade'), ('TRADING_FEE', 'fee'), ('REWARD', 'reward')
ON CONFLICT (transaction_type) DO NOTHING;

-- claim_ledger_syncs also returns newest_event_at (a ccxt account's catch-up reads since it) and the
-- account's exchange (the worker routes the claim by it): a
-- changed return type needs the old function dropped.
DROP FUNCTION IF EXISTS lth_pvr.claim_ledger_syncs(text, uuid[], int, timestamptz);
