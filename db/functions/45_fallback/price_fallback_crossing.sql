-- Owns: the one reading of "is this order's price trigger live, and does the market cross it now":
-- submitted orders (of these pairs; every pair when p_pairs is NULL) with a price fallback, neither
-- requested nor a cancel asked for otherwise, each with the price that judges it — the best ask for a
-- BUY, the best bid for a SELL — and `crossing`: that price is fresh (market_price_is_fresh) and has
-- moved against the order (fallback_price_fired). `confirm_due_at`: when a crossing already marked
-- (fallback_price_crossed_at) has held long enough to fire (fallback_price_confirm_ms; orders from
-- before it existed: 0). A pair without any price is not crossing.
-- Shared by price_triggered_orders (marks and fires) and next_fallback_due (when to wake).
CREATE OR REPLACE FUNCTION lth_pvr.price_fallback_crossing(p_pairs text[], p_now timestamptz)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, pair text, side text, price numeric,
               price_seen numeric, threshold numeric, crossing boolean, crossed_at timestamptz,
               confirm_due_at timestamptz)
LANGUAGE sql STABLE
SET search_path = lth_pvr, pg_temp
AS $$
    SELECT o.exchange_order_id, o.exchange_account_id, o.pair, o.side, o.price,
           CASE o.side WHEN 'BUY' THEN m.ask ELSE m.bid END,
           lth_pvr.fallback_price_threshold(o.side, o.price, o.fallback_price_move),
           coalesce(lth_pvr.market_price_is_fresh(m.valr_time, m.received_at, p_now)
                    AND lth_pvr.fallback_price_fired(o.side, o.price, o.fallback_price_move, m.bid, m.ask), false),
           o.fallback_price_crossed_at,
           o.fallback_price_crossed_at
               + make_interval(secs => coalesce(o.fallback_price_confirm_ms, 0) / 1000.0)
      FROM lth_pvr.exchange_orders o
      LEFT JOIN lth_pvr.market_prices m ON m.pair = o.pair
     WHERE (p_pairs IS NULL OR o.pair = ANY (p_pairs))
       AND o.status = 'submitted'
       AND o.fallback_price_move IS NOT NULL
       AND o.fallback_requested_at IS NULL
       AND o.cancel_requested_at IS NULL
$$;

REVOKE ALL ON FUNCTION lth_pvr.price_fallback_crossing(text[], timestamptz) FROM PUBLIC;
