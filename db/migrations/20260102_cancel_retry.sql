-- A requested cancel is retried until VALR's word finishes the order: cancel_sent_at is the last
-- attempt (not "sent once, never again"); a failed attempt (no answer, 429, 5xx, FAILED_CANCEL_ORDER)
-- is counted, and the next one leaves cancel_retry_seconds after the last. A cancel still
-- unconfirmed cancel_unconfirmed_minutes after it was requested raises an alert.
ALTER TABLE lth_pvr.exchange_orders
    ADD COLUMN cancel_attempts int NOT NULL DEFAULT 0,
    ADD COLUMN cancel_failures int NOT NULL DEFAULT 0;

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('cancel_retry_seconds', 10,
     'a requested cancel VALR has not confirmed is sent again this long after the last attempt'),
    ('cancel_unconfirmed_minutes', 2,
     'critical: a requested cancel of an open order not confirmed by VALR for this long');

-- The cancels still owed: requested, the order still open (the old index covered only unsent ones).
CREATE INDEX exchange_orders_cancel_open_idx
    ON lth_pvr.exchange_orders (cancel_requested_at)
    WHERE cancel_requested_at IS NOT NULL AND status IN ('placing', 'submitted');
