-- The spec's migration (same file name): WebSocket tracking columns and the safety-net index.
--   ws_monitored_at   when a WebSocket session started watching the order
--   last_polled_at    last REST poll (safety net, targeted poll or reconciliation)
--   poll_count        how many times it was polled
--   requires_polling  whether it still needs the safety net (false once terminal)

ALTER TABLE lth_pvr.exchange_orders
    ADD COLUMN ws_monitored_at  timestamptz,
    ADD COLUMN last_polled_at   timestamptz,
    ADD COLUMN poll_count       int NOT NULL DEFAULT 0,
    ADD COLUMN requires_polling boolean NOT NULL DEFAULT true;

-- The spec's partial index: the safety net reads only open orders, however long the history.
CREATE INDEX idx_exchange_orders_requires_polling
    ON lth_pvr.exchange_orders (requires_polling, last_polled_at)
    WHERE status = 'submitted';
