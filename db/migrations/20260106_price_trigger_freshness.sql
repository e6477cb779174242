-- The price trigger (issue 21, items 6-8): per-pair freshness, a bound on a silent trade socket, and a
-- confirmation rule against one-frame spikes.
--   * fallback_price_confirm_ms (order, account, setting): an adverse move fires only once seen again on
--     a price received this long after it began (0 = on the first price that crosses).
--     fallback_defaults fills the order's value from its account's, else the setting.
--   * fallback_price_crossed_at: since when the order's pair's fresh prices have crossed its threshold
--     without a price in between that did not (price_triggered_orders sets and clears it).
--   * price_rest_poll_seconds also names, for a REST read, a pair whose crossing only a new price can
--     confirm.
--   * price_rest_poll_seconds now bounds every watched pair's silence, not only a lost socket's: a pair
--     without a price received for this long is read over REST (prices_to_watch().rest_pairs).
--   * price_stale_alert_seconds: the prices_stale alert.
ALTER TABLE lth_pvr.exchange_orders
    ADD COLUMN fallback_price_confirm_ms integer
        CONSTRAINT fallback_price_confirm_ms_must_not_be_negative CHECK (fallback_price_confirm_ms >= 0),
    ADD COLUMN fallback_price_crossed_at timestamptz;

ALTER TABLE lth_pvr.exchange_accounts
    ADD COLUMN fallback_price_confirm_ms integer
        CONSTRAINT account_fallback_price_confirm_ms_must_not_be_negative CHECK (fallback_price_confirm_ms >= 0);

INSERT INTO lth_pvr.settings (name, value, description) VALUES
    ('fallback_price_confirm_ms', 500,
     'a price fallback fires only once the adverse move is seen again on a price received this long after '
     'it began (0 = at once), unless the order or its account says otherwise'),
    ('price_stale_alert_seconds', 30,
     'prices_stale alert: an order with a price fallback has had no price of its pair received for this long');

UPDATE lth_pvr.settings
   SET description = 'a watched pair without a price received for this long (socket silent for it, or down) '
                     'is read over REST (marketsummary, cached by VALR up to 10 s)'
 WHERE name = 'price_rest_poll_seconds';

-- Changed return types: the old functions go, migrate creates the new ones.
DROP FUNCTION IF EXISTS lth_pvr.fallback_defaults(lth_pvr.exchange_orders);
DROP FUNCTION IF EXISTS lth_pvr.prices_to_watch();
DROP FUNCTION IF EXISTS lth_pvr.price_watch_pairs();
