-- Owns: the price a market order's quote-amount rules are judged at (it has no price of its own): the
-- last price seen for its pair on its exchange in market_prices (the side it takes — the ask for a BUY, the bid for a
-- SELL — else the last trade), else, for a fallback's replacement, the price seen when its original's
-- fallback fired, else that original's limit price. NULL when none is known: only the base-amount
-- rules then apply. An estimate for refusing orders VALR would refuse, never a price sent to VALR.
-- Internal: check_pair_rules calls it (the insert trigger, for every market order: a fallback's
-- replacement in the transaction that records VALR's Cancelled). PL/pgSQL, not SQL: its sub-selects
-- keep a SQL function from being inlined, so it was parsed and planned again on every call (0.5 ms of
-- the Cancelled read's server time); PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION lth_pvr.market_order_price(p_order lth_pvr.exchange_orders)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce(
        (SELECT coalesce(CASE p_order.side WHEN 'BUY' THEN m.ask WHEN 'SELL' THEN m.bid END, m.last)
           FROM lth_pvr.market_prices m WHERE m.exchange = p_order.exchange AND m.pair = p_order.pair),
        (SELECT coalesce(r.fallback_price, r.price)
           FROM lth_pvr.exchange_orders r WHERE r.exchange_order_id = p_order.replaces_order_id));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.market_order_price(lth_pvr.exchange_orders) FROM PUBLIC;
