-- Fills of a finished order are fetched again while VALR reports more executed quantity than we hold
-- (a NEW_ACCOUNT_TRADE lost with nobody retrying, e.g. the fetch after the final status hit a 429).
-- fills_checked_at: when a worker last claimed such an order to fetch its trades.
ALTER TABLE lth_pvr.exchange_orders ADD COLUMN fills_checked_at timestamptz;

-- The candidates: finished orders holding less than their quantity in fills. Most finished orders
-- (fully filled ones) are not in it; claim_missing_fills then compares with VALR's executed quantity.
CREATE INDEX exchange_orders_fills_short_idx
    ON lth_pvr.exchange_orders (updated_at)
    WHERE status IN ('filled', 'cancelled') AND filled_qty < qty;
