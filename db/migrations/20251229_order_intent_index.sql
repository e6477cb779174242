-- Events and fills racing the placement answer are matched by customerOrderId = intent_id, also
-- for orders that are no longer open (the partial unique index covers open orders only).
CREATE INDEX exchange_orders_intent_idx ON lth_pvr.exchange_orders (intent_id);
