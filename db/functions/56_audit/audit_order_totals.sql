-- Owns: **what an order traded, by VALR's word and by ours**, for the audit: per VALR orderId of one
-- account, VALR's trade transactions (category `trade`; `additionalInfo.orderId`) — their ids, count,
-- base quantity and fee — against `order_fills` of our order with that ext_order_id. VALR's history
-- gives no trade id, so the two sides meet per order, not per trade. The base quantity of a trade
-- transaction: a buy credits the base net of a fee charged in it (VALR's samples: creditValue +
-- feeValue = debitValue / costPerCoin), a sell debits it. Our fee is the charged part (a maker
-- reward, a negative fee, is VALR's separate MAKER_REWARD transaction, checked by the balances).
CREATE OR REPLACE FUNCTION lth_pvr.audit_order_totals(p_exchange_account_id uuid, p_ext_order_ids text[])
RETURNS TABLE (ext_order_id text, exchange_order_id uuid, transaction_ids text[], valr_trades int,
               valr_qty numeric, valr_fee numeric, our_fills int, our_qty numeric, our_fee numeric)
LANGUAGE sql STABLE
AS $$
    WITH valr AS (
        SELECT t.additional_info->>'orderId' AS ext_order_id,
               array_agg(t.transaction_id ORDER BY t.event_at, t.transaction_id) AS ids,
               count(*)::int AS n,
               sum(CASE WHEN t.transaction_type LIKE '%\_BUY'
                        THEN t.credit_value + CASE WHEN t.fee_currency = t.credit_currency
                                                   THEN coalesce(t.fee_value, 0) ELSE 0 END
                        ELSE t.debit_value END) AS qty,
               sum(coalesce(t.fee_value, 0)) AS fee
          FROM lth_pvr.account_transactions t
          JOIN lth_pvr.transaction_types y ON y.transaction_type = t.transaction_type AND y.category = 'trade'
         WHERE t.exchange_account_id = p_exchange_account_id
           AND t.additional_info->>'orderId' = ANY (p_ext_order_ids)
         GROUP BY 1
    ), ours AS (
        SELECT o.ext_order_id, o.exchange_order_id, count(f.fill_id)::int AS n,
               coalesce(sum(f.qty), 0) AS qty, coalesce(sum(greatest(f.fee, 0)), 0) AS fee
          FROM lth_pvr.exchange_orders o
          LEFT JOIN lth_pvr.order_fills f ON f.exchange_order_id = o.exchange_order_id
         WHERE o.exchange_account_id = p_exchange_account_id AND o.ext_order_id = ANY (p_ext_order_ids)
         GROUP BY o.ext_order_id, o.exchange_order_id
    )
    SELECT coalesce(v.ext_order_id, u.ext_order_id), u.exchange_order_id, coalesce(v.ids, '{}'),
           coalesce(v.n, 0), coalesce(v.qty, 0), coalesce(v.fee, 0),
           coalesce(u.n, 0), coalesce(u.qty, 0), coalesce(u.fee, 0)
      FROM valr v
      FULL JOIN ours u ON u.ext_order_id = v.ext_order_id
$$;

REVOKE ALL ON FUNCTION lth_pvr.audit_order_totals(uuid, text[]) FROM PUBLIC;
