-- Owns: the one reading of "is this order's price trigger live, does the market cross it now, and has
-- the crossing been confirmed": submitted orders (of these pairs, of p_exchange; every pair, every
-- exchange when NULL) with
-- a price fallback, neither requested nor a cancel asked for otherwise, each with the price that
-- judges it — the best ask for a BUY, the best bid for a SELL — and:
--   crossing    that price is fresh (market_price_is_fresh) and has moved against the order
--               (fallback_price_fired); a pair without any price is not crossing;
--   confirmed   crossing, marked (fallback_price_crossed_at), and seen again on a price received at
--               least fallback_price_confirm_ms after the mark began, with no price in between that did
--               not cross (such a price clears the mark). Two observations, not a timer: a price the
--               worker holds may be up to price_rest_poll_seconds old (a pair the socket does not
--               deliver, a silent socket) and prove nothing about now. 0 (and orders from before the
--               setting): confirmed as soon as marked;
--   needs_price crossing, marked, its confirmation window over, not confirmed: a price read now would
--               decide it (prices_to_watch names the pair for a REST read).
-- Shared by price_triggered_orders, next_fallback_due and prices_to_watch.
-- No SET search_path (every name in it is qualified): PostgreSQL inlines a SQL function into its
-- caller's query only without one, and a SQL function it cannot inline is parsed and planned again at
-- every call. Inlined, record_market_prices with nothing to fire took 0.51 ms instead of 1.88 (nine
-- armed orders, one connection, warm): it runs at every price frame.
CREATE OR REPLACE FUNCTION lth_pvr.price_fallback_crossing(p_pairs text[], p_now timestamptz, p_exchange text DEFAULT NULL)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, pair text, side text, price numeric,
               price_seen numeric, threshold numeric, crossing boolean, crossed_at timestamptz,
               confirmed boolean, needs_price boolean)
LANGUAGE sql STABLE
AS $$
    SELECT c.exchange_order_id, c.exchange_account_id, c.pair, c.side, c.price, c.price_seen, c.threshold,
           c.crossing, c.crossed_at,
           c.crossing AND (c.confirm = make_interval() OR c.received_at >= c.crossed_at + c.confirm),
           c.crossing AND c.confirm > make_interval() AND c.received_at < c.crossed_at + c.confirm
               AND c.crossed_at + c.confirm <= p_now
      FROM (
        SELECT o.exchange_order_id, o.exchange_account_id, o.pair, o.side, o.price,
               CASE o.side WHEN 'BUY' THEN m.ask ELSE m.bid END AS price_seen,
               lth_pvr.fallback_price_threshold(o.side, o.price, o.fallback_price_move) AS threshold,
               coalesce(lth_pvr.market_price_is_fresh(m.valr_time, m.received_at, p_now)
                        AND lth_pvr.fallback_price_fired(o.side, o.price, o.fallback_price_move, m.bid, m.ask),
                        false) AS crossing,
               o.fallback_price_crossed_at AS crossed_at,
               m.received_at,
               make_interval(secs => coalesce(o.fallback_price_confirm_ms, 0) / 1000.0) AS confirm
          FROM lth_pvr.exchange_orders o
          LEFT JOIN lth_pvr.market_prices m ON m.exchange = o.exchange AND m.pair = o.pair
         WHERE (p_pairs IS NULL OR o.pair = ANY (p_pairs))
           AND (p_exchange IS NULL OR o.exchange = p_exchange)
           AND o.fallback_price_move IS NOT NULL
           AND lth_pvr.fallback_armed(o.status, o.fallback_requested_at, o.cancel_requested_at)
      ) c
$$;

REVOKE ALL ON FUNCTION lth_pvr.price_fallback_crossing(text[], timestamptz, text) FROM PUBLIC;
