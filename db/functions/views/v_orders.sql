-- Operators: every order with what it became — status, filled quantity, average price, and the
-- fees paid, summed per fee currency as a jsonb object ({"ZAR": "1.23"}; {} when nothing was
-- charged; a maker rebate counts negative, so {"USDT": "-0.05"} is money received). Fee amounts are
-- strings so no reader turns money into a float.
CREATE OR REPLACE VIEW lth_pvr.v_orders AS
SELECT o.exchange_order_id,
       o.exchange_account_id,
       a.subaccount_id,
       a.label,
       o.intent_id,
       o.ext_order_id,
       o.pair,
       o.side,
       o.price,
       o.qty,
       o.status,
       o.filled_qty,
       o.avg_price,
       coalesce(f.fees, '{}'::jsonb) AS fees,
       coalesce(f.fill_count, 0) AS fill_count,
       o.created_at,
       o.submitted_at,
       o.updated_at,
       o.failed_reason,
       o.order_type,
       o.exchange
  FROM lth_pvr.exchange_orders o
  JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
  LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(c.currency, c.fee::text) FILTER (WHERE c.fee <> 0) AS fees,
               sum(c.fills)::int AS fill_count
          FROM (SELECT coalesce(fl.fee_currency, '?') AS currency, sum(fl.fee) AS fee, count(*) AS fills
                  FROM lth_pvr.order_fills fl
                 WHERE fl.exchange_order_id = o.exchange_order_id
                 GROUP BY 1) c
       ) f ON true;

COMMENT ON VIEW lth_pvr.v_orders IS
    'Orders with subaccount, status, filled quantity, average price and fees by currency (jsonb of strings).';

GRANT SELECT ON lth_pvr.v_orders TO valr_reader;
