-- Owns: the time trigger. Every submitted order of the worker's leased accounts (every account when
-- p_worker_id is NULL: the pg_cron safety net) whose age fallback is due — submitted_at (VALR
-- accepted it) + fallback_after ≤ p_now — gets its fallback requested (request_fallback: the cancel
-- goes out through the cancel path). The price seen is recorded when a fresh one is known. Then the
-- price trigger over every pair (price_triggered_orders with NULL pairs): an order accepted while its
-- pair's last fresh price already crossed its threshold is marked here without waiting for the next
-- price frame (next_fallback_due wakes the worker for it) — and fired when it asks no confirmation.
-- Returns the orders it fired, in price_triggered_orders' shape.
CREATE OR REPLACE FUNCTION lth_pvr.request_due_fallbacks(
    p_worker_id text DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, pair text, side text,
               price numeric, price_seen numeric, trigger text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT o.exchange_order_id, o.exchange_account_id, o.pair, o.side, o.price,
               CASE WHEN lth_pvr.market_price_is_fresh(m.valr_time, m.received_at, p_now)
                    THEN CASE o.side WHEN 'BUY' THEN m.ask ELSE m.bid END END AS price_seen
          FROM lth_pvr.exchange_orders o
          LEFT JOIN lth_pvr.market_prices m ON m.exchange = o.exchange AND m.pair = o.pair
         WHERE o.fallback_after IS NOT NULL
           AND lth_pvr.fallback_armed(o.status, o.fallback_requested_at, o.cancel_requested_at)
           AND o.submitted_at + o.fallback_after <= p_now
           AND (p_worker_id IS NULL OR o.exchange_account_id IN (
                   SELECT l.exchange_account_id FROM lth_pvr.worker_leases(p_worker_id, p_now) l))
         ORDER BY o.submitted_at + o.fallback_after, o.exchange_order_id
    )
    SELECT d.exchange_order_id, d.exchange_account_id, a.subaccount_id, d.pair, d.side, d.price,
           d.price_seen, 'age'::text
      FROM due d
      JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = d.exchange_account_id
     WHERE lth_pvr.request_fallback(d.exchange_order_id, 'age', d.price_seen, NULL, p_now);
    RETURN QUERY SELECT * FROM lth_pvr.price_triggered_orders(NULL, p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.request_due_fallbacks(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.request_due_fallbacks(text, timestamptz) TO valr_worker;
