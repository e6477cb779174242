-- Owns: which fallback a new order gets. An explicit value on the order wins (0 = explicitly none:
-- stored as NULL); else its account's (exchange_accounts.fallback_after / fallback_price_move); else
-- the global settings fallback_after_seconds / fallback_price_move (0 = off, as shipped). Limit orders
-- that are not replacements only: a market order, and a replacement, never get one. An order
-- registered as `submitted` (placed by another system) inherits nothing either: a fallback cancels
-- the order and buys at market, which only the row itself may ask for.
-- The price fallback's confirmation (fallback_price_confirm_ms: how long an adverse move must hold)
-- follows the same order — the order's, its account's, the setting — but 0 is a value (fire at once);
-- it is NULL on an order without a price fallback.
-- Internal: the insert-rules trigger calls it.
CREATE OR REPLACE FUNCTION lth_pvr.fallback_defaults(p_order lth_pvr.exchange_orders)
RETURNS TABLE (fallback_after interval, fallback_price_move numeric, fallback_price_confirm_ms integer)
LANGUAGE sql STABLE
AS $$
    SELECT d.fallback_after, d.fallback_price_move,
           CASE WHEN d.fallback_price_move IS NOT NULL
                THEN coalesce(p_order.fallback_price_confirm_ms, d.account_confirm_ms,
                              lth_pvr.setting('fallback_price_confirm_ms')::integer) END
      FROM (
        SELECT CASE WHEN p_order.order_type <> 'limit' OR p_order.replaces_order_id IS NOT NULL
                    THEN p_order.fallback_after
                    WHEN p_order.status <> 'pending'  -- registered: only its own
                    THEN NULLIF(p_order.fallback_after, make_interval())
                    ELSE NULLIF(coalesce(p_order.fallback_after, a.fallback_after,
                                         make_interval(secs => lth_pvr.setting('fallback_after_seconds'))),
                                make_interval()) END AS fallback_after,  -- 0 = explicitly none
               CASE WHEN p_order.order_type <> 'limit' OR p_order.replaces_order_id IS NOT NULL
                    THEN p_order.fallback_price_move
                    WHEN p_order.status <> 'pending'
                    THEN NULLIF(p_order.fallback_price_move, 0)
                    ELSE NULLIF(coalesce(p_order.fallback_price_move, a.fallback_price_move,
                                         lth_pvr.setting('fallback_price_move')), 0) END AS fallback_price_move,
               a.fallback_price_confirm_ms AS account_confirm_ms
          FROM (SELECT 1) one
          LEFT JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = p_order.exchange_account_id
      ) d
$$;

REVOKE ALL ON FUNCTION lth_pvr.fallback_defaults(lth_pvr.exchange_orders) FROM PUBLIC;
