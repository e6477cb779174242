-- Placement attempts and VALR's word over our inference (issue 14, item 1).
--   placement_attempts  POSTs sent for the order. A retry is allowed only after VALR refused the
--                       previous one (429: not accepted); each attempt re-stamps placement_sent_at,
--                       so the lost-placement grace counts from the last request that left, never
--                       from one written before a rate-limit wait.
--   failed_inferred_at  set when WE made the order `failed` because VALR did not know it after the
--                       grace (inferred lost), as opposed to VALR refusing it. Only such an order may
--                       come back: VALR's positive word (a 202, a frame, an open-orders list, a
--                       lookup) makes it submitted/filled/cancelled again.
--   revived_at          when that happened (the `revived_orders` alert).
ALTER TABLE lth_pvr.exchange_orders
    ADD COLUMN placement_attempts int NOT NULL DEFAULT 0,
    ADD COLUMN failed_inferred_at timestamptz,
    ADD COLUMN revived_at timestamptz;

-- Orders inferred lost are few; the alert and the revival look them up by this.
CREATE INDEX exchange_orders_revived_idx ON lth_pvr.exchange_orders (revived_at) WHERE revived_at IS NOT NULL;

UPDATE lth_pvr.exchange_orders SET placement_attempts = 1 WHERE placement_sent_at IS NOT NULL;
