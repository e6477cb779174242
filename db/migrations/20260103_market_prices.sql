-- Live prices: the last best bid, best ask and last traded price per pair, from VALR's trade socket
-- (MARKET_SUMMARY_UPDATE, source 'ws') or, while that socket is down, GET /v1/public/{pair}/marketsummary
-- (source 'rest'). One row per pair, replaced by record_market_prices; valr_time is VALR's own stamp
-- (`created`), received_at when the worker read it. The fallback rules judge staleness from these.
CREATE TABLE lth_pvr.market_prices (
    pair        text PRIMARY KEY
        CONSTRAINT market_price_pair_must_be_uppercase_symbol CHECK (pair ~ '^[A-Z0-9]{5,20}$'),
    bid         numeric CONSTRAINT market_bid_must_be_positive CHECK (bid > 0),
    ask         numeric CONSTRAINT market_ask_must_be_positive CHECK (ask > 0),
    last        numeric CONSTRAINT market_last_must_be_positive CHECK (last > 0),
    source      text NOT NULL CONSTRAINT market_price_source_must_be_ws_or_rest CHECK (source IN ('ws', 'rest')),
    valr_time   timestamptz,
    received_at timestamptz NOT NULL
);

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('price_rest_poll_seconds', 10,
     'while the trade socket is down, the worker reads each watched pair''s marketsummary this often'),
    ('price_socket_quiet_seconds', 30,
     'a trade socket silent this long is asked again (SUBSCRIBE sends the latest); silent after that: reconnect');
