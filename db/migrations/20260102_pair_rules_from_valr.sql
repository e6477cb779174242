-- Pair rules from VALR itself. lth_pvr.pairs becomes the one source of every pair rule (the worker's
-- Python copy is gone): refresh_pairs fills it from VALR's GET /v1/public/pairs (and the order types
-- of GET /v1/public/ordertypes), and the insert trigger checks an order against it.
--
-- VALR's documented /v1/public/pairs item: symbol, baseCurrency, quoteCurrency, shortName, active,
-- minBaseAmount, maxBaseAmount, minQuoteAmount, maxQuoteAmount, tickSize, baseDecimalPlaces,
-- marginTradingAllowed, currencyPairType. It has no quote decimal places: quote_decimal_places stays
-- NULL unless a future answer carries quoteDecimalPlaces.
ALTER TABLE lth_pvr.pairs
    ADD COLUMN base_currency        text,
    ADD COLUMN quote_currency       text,
    ADD COLUMN quote_decimal_places int CHECK (quote_decimal_places BETWEEN 0 AND 18),
    ADD COLUMN max_base_amount      numeric CHECK (max_base_amount > 0),
    ADD COLUMN min_quote_amount     numeric NOT NULL DEFAULT 0 CHECK (min_quote_amount >= 0),
    ADD COLUMN max_quote_amount     numeric CHECK (max_quote_amount > 0),
    ADD COLUMN active               boolean NOT NULL DEFAULT true,
    ADD COLUMN pair_type            text,
    -- VALR's names (LIMIT, LIMIT_POST_ONLY, MARKET, SIMPLE, …); NULL = not known, nothing checked.
    ADD COLUMN order_types          text[],
    -- NULL on the seeded rows: a table whose rows are all NULL here was never refreshed from VALR.
    ADD COLUMN refreshed_at         timestamptz,
    -- The row's rules as VALR last sent them.
    ADD COLUMN valr                 jsonb NOT NULL DEFAULT '{}';

ALTER TABLE lth_pvr.pairs ADD CONSTRAINT min_base_amount_must_not_be_negative CHECK (min_base_amount >= 0);

COMMENT ON TABLE lth_pvr.pairs IS
    'VALR''s pair rules (GET /v1/public/pairs, /v1/public/ordertypes); refresh with `valr-monitor pairs` '
    '(the worker refreshes at start and daily). refreshed_at NULL everywhere = never refreshed.';

-- The seed's rules, corrected to VALR's published ETHZAR example (min 0.0002 ETH / R10, max 69.21 ETH /
-- R5,000,000). The other rows keep their seeded values until the first refresh replaces them.
UPDATE lth_pvr.pairs
   SET min_base_amount = 0.0002, max_base_amount = 69.21, min_quote_amount = 10, max_quote_amount = 5000000
 WHERE pair = 'ETHZAR';
UPDATE lth_pvr.pairs
   SET base_currency = left(pair, length(pair) - 3), quote_currency = 'ZAR'
 WHERE pair LIKE '%ZAR';

-- A refreshed table knows when it was refreshed (and how many pairs VALR listed).
CREATE TABLE lth_pvr.pair_refreshes (
    refresh_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    refreshed_at        timestamptz NOT NULL DEFAULT now(),
    pairs_listed        int NOT NULL,
    pairs_changed       int NOT NULL,
    pairs_deactivated   int NOT NULL,
    items_skipped       int NOT NULL,
    order_types_known   boolean NOT NULL
);

CREATE INDEX pair_refreshes_at_idx ON lth_pvr.pair_refreshes (refreshed_at);


INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('pair_refresh_hours', 24, 'the worker refreshes lth_pvr.pairs from VALR this often (and at start)');

-- The event log's words for an order inserted for a pair VALR's rules could not check (a table never
-- refreshed): kind `insert`, outcome `pair_unchecked` (written by check_pair_rules).
ALTER TABLE lth_pvr.order_events
    DROP CONSTRAINT order_event_kind_must_be_known,
    ADD CONSTRAINT order_event_kind_must_be_known CHECK (kind IN (
        'order_status', 'open_order', 'open_orders', 'trade', 'order_processed', 'failed_cancel_order', 'frame',
        'unknown_frame', 'poll', 'placement', 'lookup', 'claim', 'cancel_request', 'cancel', 'insert')),
    DROP CONSTRAINT order_event_outcome_must_be_known,
    ADD CONSTRAINT order_event_outcome_must_be_known CHECK (outcome IN (
        'applied', 'unchanged', 'illegal_transition', 'unknown_status', 'not_ours', 'malformed', 'recorded',
        'duplicate', 'overfill', 'unmatched', 'conflict', 'not_found', 'not_found_within_grace', 'lost_placement',
        'error', 'ignored', 'cancel_failed', 'requested', 'cancelled_before_placement', 'pair_unchecked'));
