-- record_fill keeps an order's fill totals up to date incrementally instead of summing all its fills
-- on every trade (a cost that grew with the order's fills). filled_value is sum(price * qty) of the
-- order's fills, so avg_price = filled_value / filled_qty stays exactly what the sum gave.
ALTER TABLE lth_pvr.exchange_orders ADD COLUMN filled_value numeric NOT NULL DEFAULT 0;

UPDATE lth_pvr.exchange_orders o
   SET filled_value = f.value
  FROM (SELECT exchange_order_id, sum(price * qty) AS value
          FROM lth_pvr.order_fills
         GROUP BY exchange_order_id) f
 WHERE o.exchange_order_id = f.exchange_order_id;
