-- Owns: the price trigger of the limit → market fallback. Called by record_market_prices with the
-- pairs it just recorded, in the same transaction, so the cancel goes out at once: every submitted
-- order of those pairs with a price fallback not yet requested whose pair's price is fresh
-- (market_price_is_fresh) and has moved against it (fallback_price_fired: adverse moves only) gets
-- its fallback requested (request_fallback: cancel requested, decision logged). Returns those
-- orders with the price seen and trigger 'price'.
CREATE OR REPLACE FUNCTION lth_pvr.price_triggered_orders(p_pairs text[], p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, pair text, side text,
               price numeric, price_seen numeric, trigger text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH fired AS (
        SELECT o.exchange_order_id, o.exchange_account_id, o.pair, o.side, o.price,
               CASE o.side WHEN 'BUY' THEN m.ask ELSE m.bid END AS price_seen,
               lth_pvr.fallback_price_threshold(o.side, o.price, o.fallback_price_move) AS threshold
          FROM lth_pvr.exchange_orders o
          JOIN lth_pvr.market_prices m ON m.pair = o.pair
         WHERE o.pair = ANY (p_pairs)
           AND o.status = 'submitted'
           AND o.fallback_price_move IS NOT NULL
           AND o.fallback_requested_at IS NULL
           AND o.cancel_requested_at IS NULL
           AND lth_pvr.market_price_is_fresh(m.valr_time, m.received_at, p_now)
           AND lth_pvr.fallback_price_fired(o.side, o.price, o.fallback_price_move, m.bid, m.ask)
         ORDER BY o.exchange_order_id
    )
    SELECT f.exchange_order_id, f.exchange_account_id, a.subaccount_id, f.pair, f.side, f.price,
           f.price_seen, 'price'::text
      FROM fired f
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = f.exchange_account_id
     WHERE lth_pvr.request_fallback(f.exchange_order_id, 'price', f.price_seen, f.threshold, p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.price_triggered_orders(text[], timestamptz) FROM PUBLIC;
