-- Market orders: order_type 'limit' (the default: every existing order) or 'market'. A limit order
-- needs its price; a market order has none (VALR's POST /v1/orders/market takes baseAmount = qty and
-- executes at once at the best prices, IOC). Each rule is a named constraint, so psql users see which.
ALTER TABLE lth_pvr.exchange_orders
    ADD COLUMN order_type text NOT NULL DEFAULT 'limit'
        CONSTRAINT order_type_must_be_limit_or_market CHECK (order_type IN ('limit', 'market')),
    ALTER COLUMN price DROP NOT NULL,
    ADD CONSTRAINT limit_order_must_have_price CHECK (order_type <> 'limit' OR price IS NOT NULL),
    ADD CONSTRAINT market_order_must_not_have_price CHECK (order_type <> 'market' OR price IS NULL),
    ADD CONSTRAINT market_order_cannot_be_post_only CHECK (order_type <> 'market' OR NOT post_only);

-- claim_pending_orders now also returns order_type: a new result row type needs the old one dropped.
DROP FUNCTION IF EXISTS lth_pvr.claim_pending_orders(text, uuid[], int, timestamptz);
