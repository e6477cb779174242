-- When an order reached its final status, kept apart from updated_at (which a late fill still moves).
-- claim_missing_fills selects finished orders by it. Its index replaces exchange_orders_fills_short_idx,
-- which keyed on updated_at with filled_qty in its predicate: every fill changed an indexed column,
-- so no fill could update the order row in place (a HOT update) and every fill added an entry to
-- every index of the table. finished_at and status change once per order.
ALTER TABLE lth_pvr.exchange_orders ADD COLUMN finished_at timestamptz;

UPDATE lth_pvr.exchange_orders
   SET finished_at = updated_at
 WHERE status IN ('filled', 'cancelled', 'failed');

DROP INDEX lth_pvr.exchange_orders_fills_short_idx;

CREATE INDEX exchange_orders_finished_idx
    ON lth_pvr.exchange_orders (finished_at)
    WHERE status IN ('filled', 'cancelled');
