-- The account ledger (issue 23): every VALR transaction of an account, its balances, crypto deposits
-- still confirming, and the catch-up cursor of each account's transaction history. VALR's word only:
-- rows are written by the ledger functions (db/functions/55_ledger/) from the account socket and REST.

-- What each VALR transaction type is, for v_deposits and the unknown-type alert. A type VALR adds
-- later is still recorded (never dropped) and alerted (`ledger_unknown_transaction_type`) until a
-- person adds its row here.
CREATE TABLE lth_pvr.transaction_types (
    transaction_type text PRIMARY KEY,
    category text NOT NULL,
    CONSTRAINT transaction_category_must_be_known CHECK (category IN
        ('trade', 'fee', 'reward', 'fiat_deposit', 'crypto_deposit', 'fiat_withdrawal', 'crypto_withdrawal',
         'transfer', 'other'))
);
COMMENT ON TABLE lth_pvr.transaction_types IS
    'VALR''s transactionType.type words and what each is (v_deposits reads fiat_deposit, crypto_deposit, transfer)';

INSERT INTO lth_pvr.transaction_types (transaction_type, category) VALUES
    ('LIMIT_BUY', 'trade'), ('LIMIT_SELL', 'trade'), ('MARKET_BUY', 'trade'), ('MARKET_SELL', 'trade'),
    ('SIMPLE_BUY', 'trade'), ('SIMPLE_SELL', 'trade'), ('INSTANT_BUY', 'trade'), ('INSTANT_SELL', 'trade'),
    ('LIQUIDATION_LIMIT_BUY', 'trade'), ('LIQUIDATION_LIMIT_SELL', 'trade'),
    ('COLLATERAL_CONVERSION_LIMIT_BUY', 'trade'), ('COLLATERAL_CONVERSION_LIMIT_SELL', 'trade'),
    ('MAKER_REWARD', 'reward'), ('REFERRAL_REBATE', 'reward'), ('SPOT_LEND_INTEREST_PAYMENT', 'reward'),
    ('FUTURES_FUNDING_EARNED', 'reward'), ('FUTURES_PNL_PROFIT', 'reward'),
    ('FUTURES_TRADE_FEE', 'fee'), ('FUTURES_FUNDING_PAID', 'fee'), ('FUTURES_PNL_LOSS', 'fee'),
    ('SPOT_BORROW_INTEREST_CHARGE', 'fee'), ('FIAT_WITHDRAWAL_FEE', 'fee'),
    ('FIAT_WITHDRAWAL_FEE_REVERSAL', 'other'),
    ('FIAT_DEPOSIT', 'fiat_deposit'), ('CREDIT_CARD_DEPOSIT', 'fiat_deposit'), ('FUND', 'fiat_deposit'),
    ('BLOCKCHAIN_RECEIVE', 'crypto_deposit'),
    ('FIAT_WITHDRAWAL', 'fiat_withdrawal'), ('BLOCKCHAIN_SEND', 'crypto_withdrawal'),
    ('INTERNAL_TRANSFER', 'transfer'),
    ('LIQUIDATION_TAKEOVER_ASSET_TRANSFER', 'other'), ('LIQUIDATION_TAKEOVER_DEBT_TRANSFER', 'other');

CREATE TABLE lth_pvr.account_transactions (
    transaction_id text NOT NULL,
    exchange_account_id uuid NOT NULL REFERENCES lth_pvr.exchange_accounts,
    transaction_type text NOT NULL,
    description text,
    debit_currency text,
    debit_value numeric,
    credit_currency text,
    credit_value numeric,
    fee_currency text,
    fee_value numeric,
    event_at timestamptz NOT NULL,
    additional_info jsonb,
    raw jsonb NOT NULL,
    source text NOT NULL,
    recorded_at timestamptz NOT NULL,
    CONSTRAINT account_transactions_pkey PRIMARY KEY (transaction_id),
    CONSTRAINT transaction_source_must_be_known CHECK (source IN ('ws', 'rest', 'rescan')),
    -- VALR prints ZAR's symbol as "R" in its currency objects: the code is shortName.
    CONSTRAINT transaction_currency_must_be_a_code CHECK (
        'R' NOT IN (coalesce(debit_currency, ''), coalesce(credit_currency, ''), coalesce(fee_currency, ''))),
    CONSTRAINT transaction_values_must_not_be_negative CHECK (
        coalesce(debit_value, 0) >= 0 AND coalesce(credit_value, 0) >= 0 AND coalesce(fee_value, 0) >= 0)
);
CREATE INDEX account_transactions_account_event_at ON lth_pvr.account_transactions (exchange_account_id, event_at);
CREATE INDEX account_transactions_order_id ON lth_pvr.account_transactions ((additional_info->>'orderId'))
    WHERE additional_info ? 'orderId';
COMMENT ON TABLE lth_pvr.account_transactions IS
    'one row per VALR transaction (NEW_ACCOUNT_HISTORY_RECORD, GET /v1/account/transactionhistory); '
    'transaction_id is VALR''s id, the only dedupe key; append-only';
COMMENT ON COLUMN lth_pvr.account_transactions.source IS
    'ws: the account socket; rest: the catch-up back to the cursor; rescan: the cursor-free re-scan of the last '
    'days (a row it inserts was missed by both others: alert ledger_late_transactions)';

CREATE TABLE lth_pvr.balances (
    exchange_account_id uuid NOT NULL REFERENCES lth_pvr.exchange_accounts,
    currency text NOT NULL,
    available numeric NOT NULL,
    reserved numeric NOT NULL,
    total numeric NOT NULL,
    updated_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    source text NOT NULL,
    raw jsonb NOT NULL,
    CONSTRAINT balances_pkey PRIMARY KEY (exchange_account_id, currency),
    CONSTRAINT balance_source_must_be_known CHECK (source IN ('ws', 'rest')),
    CONSTRAINT balance_currency_must_be_a_code CHECK (currency <> 'R')
);
COMMENT ON TABLE lth_pvr.balances IS
    'VALR''s latest balance per account and currency; updated_at is VALR''s updatedAt: an older snapshot never '
    'overwrites a newer one (trigger balances_never_older)';

CREATE TABLE lth_pvr.pending_receives (
    exchange_account_id uuid NOT NULL REFERENCES lth_pvr.exchange_accounts,
    transaction_hash text NOT NULL,
    index_in_tx int NOT NULL,
    currency text NOT NULL,
    amount numeric NOT NULL,
    confirmations int,
    confirmed boolean NOT NULL DEFAULT false,
    receive_address text,
    network_type text,
    created_at timestamptz,
    updated_at timestamptz NOT NULL,
    raw jsonb NOT NULL,
    credited_transaction_id text,
    CONSTRAINT pending_receives_pkey PRIMARY KEY (exchange_account_id, transaction_hash, index_in_tx),
    CONSTRAINT pending_receive_currency_must_be_a_code CHECK (currency <> 'R')
);
COMMENT ON TABLE lth_pvr.pending_receives IS
    'crypto deposits still confirming (NEW_PENDING_RECEIVE), kept until the credited BLOCKCHAIN_RECEIVE '
    'transaction with the same transactionHash arrives (credited_transaction_id); index_in_tx -1 when VALR gave none';

CREATE TABLE lth_pvr.ledger_cursors (
    exchange_account_id uuid PRIMARY KEY REFERENCES lth_pvr.exchange_accounts,
    newest_transaction_id text,
    newest_event_at timestamptz,
    catching_up_to_id text,
    catching_up_to_at timestamptz,
    synced_at timestamptz,
    sync_requested_at timestamptz,
    sync_claimed_at timestamptz,
    sync_claimed_by text,
    sync_failed_at timestamptz,
    sync_error text,
    rescanned_at timestamptz
);
COMMENT ON TABLE lth_pvr.ledger_cursors IS
    'per account, the newest VALR transaction held with every older one (newest_transaction_id): the catch-up '
    'reads back to it. catching_up_to_*: the top of the catch-up under way, which becomes the cursor only when a '
    'page reached the cursor or the end of the history, in the same transaction as that page''s rows';

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('ledger_sync_minutes', 60,
     'an account''s transaction history and balances are read over REST at least this often (and after every connect)'),
    ('ledger_sync_claim_seconds', 300,
     'a ledger sync claimed by a worker and not finished is handed out again after this'),
    ('ledger_rescan_days', 3,
     'the cursor-free re-scan reads the last this many days of history (entries VALR posts late)'),
    ('ledger_rescan_hours', 24,
     'the cursor-free re-scan runs at most this often per account'),
    ('ledger_alert_hours', 24,
     'ledger_unknown_transaction_type and ledger_late_transactions name transactions recorded within this');
