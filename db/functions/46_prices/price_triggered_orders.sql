-- Owns: the price trigger of the limit → market fallback, with its confirmation. Called by
-- record_market_prices / record_exchange_prices with the pairs (of p_exchange) they just recorded (in the same transaction, so the cancel goes
-- out at once), and by request_due_fallbacks for every pair (p_pairs NULL: the worker's timer when a
-- confirmation falls due or a newly accepted order meets a price already past its threshold, and the
-- cron safety net). For each live price trigger (price_fallback_crossing):
--   1. the crossing mark: fallback_price_crossed_at is set (p_now) when the pair's fresh price crosses
--      the threshold and none is set, and cleared when it does not cross (or is stale): a move that
--      reverts, or that nobody can see any more, starts its confirmation again;
--   2. an order whose crossing is confirmed — seen again on a price received fallback_price_confirm_ms
--      or more after the mark began (0: at once) — gets its fallback requested (request_fallback:
--      cancel requested, decision logged).
-- A one-frame spike therefore sets the mark and the next frame clears it: nothing fires. A move that
-- holds with no further frame is confirmed by the REST read prices_to_watch asks for once its window
-- is over (needs_price).
-- Returns the orders fired, with the price seen and trigger 'price'.
CREATE OR REPLACE FUNCTION lth_pvr.price_triggered_orders(p_pairs text[], p_now timestamptz DEFAULT now(),
                                                          p_exchange text DEFAULT NULL)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, pair text, side text,
               price numeric, price_seen numeric, trigger text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    UPDATE lth_pvr.exchange_orders o
       SET fallback_price_crossed_at = CASE WHEN c.crossing THEN p_now END
      FROM lth_pvr.price_fallback_crossing(p_pairs, p_now, p_exchange) c
     WHERE o.exchange_order_id = c.exchange_order_id
       AND (c.crossed_at IS NOT NULL) <> c.crossing;

    RETURN QUERY
    -- MATERIALIZED: request_fallback (which writes) sees the confirmed rows only. price_fallback_crossing
    -- is inlined into this query, and the planner may otherwise evaluate the WHERE's function on a row
    -- before the crossing's own test.
    WITH fired AS MATERIALIZED (
        SELECT c.exchange_order_id, c.exchange_account_id, c.pair, c.side, c.price, c.price_seen, c.threshold
          FROM lth_pvr.price_fallback_crossing(p_pairs, p_now, p_exchange) c
         WHERE c.confirmed
         ORDER BY c.exchange_order_id
    )
    SELECT f.exchange_order_id, f.exchange_account_id, a.subaccount_id, f.pair, f.side, f.price,
           f.price_seen, 'price'::text
      FROM fired f
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = f.exchange_account_id
     WHERE lth_pvr.request_fallback(f.exchange_order_id, 'price', f.price_seen, f.threshold, p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.price_triggered_orders(text[], timestamptz, text) FROM PUBLIC;
