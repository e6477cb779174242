-- A fill is recorded once per exchange trade id — and on Binance per symbol: Binance numbers trades per
-- symbol, so two trades of one account on BTC/USDT and ETH/USDT may share an id, and (exchange,
-- trade_id) alone would drop the second as a duplicate. id_scope is the order's pair on Binance, ''
-- elsewhere (trade_id_scope), set by exchange_of_row whatever a writer says. No backfill: no Binance
-- fill predates this migration (Binance arrives with 20260108_exchanges.sql).
ALTER TABLE lth_pvr.order_fills ADD COLUMN id_scope text NOT NULL DEFAULT '';
ALTER TABLE lth_pvr.order_fills
    DROP CONSTRAINT trade_id_must_be_unique,
    ADD CONSTRAINT trade_id_must_be_unique UNIQUE (exchange, id_scope, trade_id);
COMMENT ON COLUMN lth_pvr.order_fills.id_scope IS
    'within what trade_id is unique beside the exchange: the order''s pair on Binance (trades are numbered per symbol), '''' elsewhere (trigger order_fills_exchange)';
