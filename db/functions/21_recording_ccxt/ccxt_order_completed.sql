-- Owns: completing a ccxt order event that states what executed but not what was ordered (ccxt's
-- `filled` null, info's `cum_qty` the cumulative executed quantity: Kraken's executions events after
-- the first — the canceled / filled / expired word — carry ids and cumulative figures only, and ccxt
-- puts cum_qty in `amount`). The ordered quantity is the one we placed, the account's order with that
-- exchange id (the exchange was sent exactly it: our precision check refuses what it would change):
-- `amount` := our qty, `filled` := cum_qty, ccxt's `remaining` dropped (ccxt_order_payload then derives
-- it). So a cancel after fills states its remainder (the fallback replaces exactly it) and a `closed`
-- with nothing left is filled. Any other payload, or one whose order we do not hold, is returned
-- unchanged. Internal; record_exchange_events calls it for each order it records.
CREATE OR REPLACE FUNCTION lth_pvr.ccxt_order_completed(p_exchange_account_id uuid, p_order jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        (SELECT p_order || jsonb_build_object('amount', o.qty, 'filled', p_order->'info'->'cum_qty', 'remaining', NULL)
           FROM lth_pvr.exchange_orders o
           JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = o.exchange_account_id
          WHERE jsonb_typeof(p_order) = 'object'
            AND coalesce(jsonb_typeof(p_order->'filled'), 'null') = 'null'
            AND p_order->'info' ? 'cum_qty'
            AND a.exchange_account_id = p_exchange_account_id
            AND o.exchange = a.exchange AND o.ext_order_id = lth_pvr.json_text(p_order->'id')),
        p_order)
$$;

REVOKE ALL ON FUNCTION lth_pvr.ccxt_order_completed(uuid, jsonb) FROM PUBLIC;
