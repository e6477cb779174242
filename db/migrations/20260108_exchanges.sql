-- Issue 25: accounts on other exchanges (Binance, Kraken, Coinbase through ccxt) behind the same SQL.
-- docs/exchanges.md is the design; docs/reliability.md says what is keyed on what.

-- Accounts per exchange. The exchange of an account decides which client speaks for it, which
-- exchange's ids its orders, fills and transactions carry and which pair rules its orders obey: an
-- account with orders (or fills, or transactions) keeps its exchange for ever (trigger
-- exchange_accounts_exchange_fixed, against every writer), or its history would be read as another
-- exchange's (ids that collide across exchanges would then be deduped against the wrong ones).
ALTER TABLE lth_pvr.exchange_accounts
    ADD COLUMN exchange text NOT NULL DEFAULT 'valr',
    ADD COLUMN credential_ref text;
ALTER TABLE lth_pvr.exchange_accounts
    ADD CONSTRAINT exchange_must_be_known CHECK (exchange IN ('valr', 'binance', 'kraken', 'coinbase')),
    ADD CONSTRAINT credential_ref_must_be_an_environment_name
        CHECK (credential_ref ~ '^[A-Za-z][A-Za-z0-9_]{0,39}$'),
    ADD CONSTRAINT subaccount_id_only_on_valr CHECK (exchange = 'valr' OR subaccount_id = ''),
    DROP CONSTRAINT subaccount_id_must_be_unique;
-- One account per key and subaccount. NULL credential_ref is the exchange's default key, whose
-- variables are named after the exchange (VALR_API_KEY): NULL and 'VALR' (any case) are the same key,
-- so the uniqueness is on the resolved, upper-cased name (stricter than NULLS NOT DISTINCT).
CREATE UNIQUE INDEX account_must_be_unique ON lth_pvr.exchange_accounts
    (exchange, upper(coalesce(credential_ref, exchange)), subaccount_id);
COMMENT ON TABLE lth_pvr.exchange_accounts IS
    'Accounts on an exchange (valr, binance, kraken, coinbase; exchange fixed once the account has orders). '
    'subaccount_id is VALR''s id, sent as X-VALR-SUB-ACCOUNT-ID; '''' is the primary account (and every '
    'other exchange''s account). credential_ref names the environment variables <REF>_API_KEY, '
    '<REF>_API_SECRET (<REF>_API_PASSPHRASE) holding its key, never in the database; NULL: the exchange''s '
    'default (VALR, BINANCE, KRAKEN, COINBASE).';

-- Exactly once, per exchange: an exchange's ids are unique within that exchange only. Each table
-- keyed on one carries the exchange, set by a BEFORE INSERT trigger from the account (exchange_of_row,
-- whatever the writer says). balances, pending_receives, ledger_cursors and ledger_checkpoints are
-- keyed by the account already, which has one exchange.
ALTER TABLE lth_pvr.exchange_orders ADD COLUMN exchange text NOT NULL DEFAULT 'valr';
ALTER TABLE lth_pvr.order_fills ADD COLUMN exchange text NOT NULL DEFAULT 'valr';
ALTER TABLE lth_pvr.account_transactions ADD COLUMN exchange text NOT NULL DEFAULT 'valr';
-- Backfill: every account so far is VALR's (the column's default), so are its rows (the defaults).
ALTER TABLE lth_pvr.exchange_orders
    DROP CONSTRAINT ext_order_id_must_be_unique,
    ADD CONSTRAINT ext_order_id_must_be_unique UNIQUE (exchange, ext_order_id),
    DROP CONSTRAINT pair_must_be_uppercase_symbol,
    -- VALR's own symbols (BTCZAR); ccxt's unified symbols elsewhere (BTC/USDT, a derivative's BTC/USDT:USDT).
    ADD CONSTRAINT pair_must_be_uppercase_symbol CHECK (CASE WHEN exchange = 'valr'
        THEN pair ~ '^[A-Z0-9]{5,20}$' ELSE pair ~ '^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$' END);
ALTER TABLE lth_pvr.order_fills
    DROP CONSTRAINT trade_id_must_be_unique,
    ADD CONSTRAINT trade_id_must_be_unique UNIQUE (exchange, trade_id);
ALTER TABLE lth_pvr.account_transactions
    DROP CONSTRAINT account_transactions_pkey,
    ADD CONSTRAINT account_transactions_pkey PRIMARY KEY (exchange, transaction_id);
COMMENT ON COLUMN lth_pvr.exchange_orders.exchange IS 'the account''s exchange (trigger exchange_orders_exchange): ext_order_id is unique within it';
COMMENT ON COLUMN lth_pvr.order_fills.exchange IS 'the order''s exchange (trigger order_fills_exchange): trade_id is unique within it';
COMMENT ON COLUMN lth_pvr.account_transactions.exchange IS 'the account''s exchange (trigger account_transactions_exchange): transaction_id is unique within it';

-- Pairs per exchange: the same symbol on two exchanges is two pairs with their own rules and prices.
ALTER TABLE lth_pvr.pairs ADD COLUMN exchange text NOT NULL DEFAULT 'valr';
ALTER TABLE lth_pvr.pair_refreshes ADD COLUMN exchange text NOT NULL DEFAULT 'valr';
ALTER TABLE lth_pvr.market_prices ADD COLUMN exchange text NOT NULL DEFAULT 'valr';
ALTER TABLE lth_pvr.pairs
    DROP CONSTRAINT pairs_pkey,
    ADD CONSTRAINT pairs_pkey PRIMARY KEY (exchange, pair),
    ADD CONSTRAINT pair_exchange_must_be_known CHECK (exchange IN ('valr', 'binance', 'kraken', 'coinbase'));
ALTER TABLE lth_pvr.pair_refreshes
    ADD CONSTRAINT pair_refresh_exchange_must_be_known CHECK (exchange IN ('valr', 'binance', 'kraken', 'coinbase'));
DROP INDEX lth_pvr.pair_refreshes_at_idx;
CREATE INDEX pair_refreshes_at_idx ON lth_pvr.pair_refreshes (exchange, refreshed_at);
ALTER TABLE lth_pvr.market_prices
    DROP CONSTRAINT market_prices_pkey,
    ADD CONSTRAINT market_prices_pkey PRIMARY KEY (exchange, pair),
    ADD CONSTRAINT market_price_exchange_must_be_known CHECK (exchange IN ('valr', 'binance', 'kraken', 'coinbase')),
    DROP CONSTRAINT market_price_pair_must_be_uppercase_symbol,
    ADD CONSTRAINT market_price_pair_must_be_uppercase_symbol CHECK (CASE WHEN exchange = 'valr'
        THEN pair ~ '^[A-Z0-9]{5,20}$' ELSE pair ~ '^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$' END);
COMMENT ON TABLE lth_pvr.pairs IS
    'Pair rules per exchange: VALR''s (GET /v1/public/pairs, /v1/public/ordertypes: refresh_pairs), other '
    'exchanges'' from ccxt''s load_markets (refresh_exchange_pairs; valr then holds ccxt''s market). Refresh '
    'with `valr-monitor pairs` (the worker refreshes at start and daily). refreshed_at NULL everywhere = never refreshed.';

-- Functions whose arguments or results now name the exchange (CREATE OR REPLACE cannot change them).
DROP FUNCTION IF EXISTS lth_pvr.prices_to_watch(timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.price_watch_pairs();
DROP FUNCTION IF EXISTS lth_pvr.price_triggered_orders(text[], timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.price_fallback_crossing(text[], timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.pair_refresh_due(timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.pair_rules();
-- The metrics take an exchange (NULL: every one): their views are recreated by `migrate` after this.
DROP VIEW IF EXISTS lth_pvr.v_ws_coverage;
DROP VIEW IF EXISTS lth_pvr.v_polls_per_order;
DROP VIEW IF EXISTS lth_pvr.v_completion_time;
DROP FUNCTION IF EXISTS lth_pvr.metric_ws_coverage(int, timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.metric_polls_per_order(int, timestamptz);
DROP FUNCTION IF EXISTS lth_pvr.metric_completion_time(int, timestamptz);
