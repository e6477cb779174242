-- Owns: one row per intent, so a strategy reads what became of what it asked, not a chain of orders
-- (a limit order and its market replacement share the intent_id):
--   qty         what the intent asked: the qty of its first order (intent_asked_qty)
--   filled_qty  filled across all its orders; avg_price = their filled value / filled_qty
--   fees        summed per fee currency across its orders (jsonb of strings, as v_orders)
--   orders      how many orders it has
--   state       needs_attention  filled more than asked, a market order VALR ended before executing all
--                                of it (market_order_cut_short: slippage, a cancel after a partial fill), a
--                                fallback whose remainder VALR did not state / the pair refused, or
--                                whose market replacement failed (the remainder was not placed) — unless
--                                an order of it is open again or it got all it asked (a person placed the
--                                rest: place_intent_remainder)
--               open             an order still pending, placing or submitted
--               filled           filled_qty reached qty
--               partially_filled something filled, nothing open
--               cancelled        nothing filled, an order cancelled
--               failed           nothing filled, every order failed
CREATE OR REPLACE VIEW lth_pvr.v_intents AS
SELECT i.intent_id,
       i.qty,
       i.filled_qty,
       CASE WHEN i.filled_qty > 0 THEN i.filled_value / i.filled_qty END AS avg_price,
       coalesce(f.fees, '{}'::jsonb) AS fees,
       i.orders,
       CASE WHEN i.filled_qty > i.qty THEN 'needs_attention'
            WHEN i.open THEN 'open'
            WHEN i.filled_qty >= i.qty THEN 'filled'
            WHEN i.attention THEN 'needs_attention'
            WHEN i.filled_qty > 0 THEN 'partially_filled'
            WHEN i.cancelled THEN 'cancelled'
            ELSE 'failed'
       END AS state,
       i.exchange
  FROM (SELECT o.intent_id,
               -- intent_first_order's rule, in the aggregate: the first order that replaces nothing
               (array_agg(o.qty ORDER BY o.created_at, o.exchange_order_id)
                    FILTER (WHERE o.replaces_order_id IS NULL))[1] AS qty,
               sum(o.filled_qty) AS filled_qty,
               sum(o.filled_value) AS filled_value,
               count(*)::int AS orders,
               bool_or(lth_pvr.is_open(o.status)) AS open,
               bool_or(o.status = 'cancelled') AS cancelled,
               bool_or(lth_pvr.order_needs_attention(o) IS NOT NULL) AS attention,
               min(o.exchange) AS exchange  -- its orders' (a replacement is placed on its original's account)
          FROM lth_pvr.exchange_orders o
         GROUP BY o.intent_id) i
  LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(c.currency, c.fee::text) FILTER (WHERE c.fee <> 0) AS fees
          FROM (SELECT coalesce(fl.fee_currency, '?') AS currency, sum(fl.fee) AS fee
                  FROM lth_pvr.order_fills fl
                  JOIN lth_pvr.exchange_orders o ON o.exchange_order_id = fl.exchange_order_id
                 WHERE o.intent_id = i.intent_id
                 GROUP BY 1) c
       ) f ON true;

COMMENT ON VIEW lth_pvr.v_intents IS
    'One row per intent: asked qty, filled across its orders (a limit order and its market replacement), '
    'average price, fees by currency, order count and state.';

GRANT SELECT ON lth_pvr.v_intents TO valr_reader;
