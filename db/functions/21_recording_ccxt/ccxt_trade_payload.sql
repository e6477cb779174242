-- Owns: ccxt's unified trade (safe_trade: id, order, price, amount, fee {cost, currency} or fees[],
-- side, symbol, timestamp, datetime, info) in the words the recording rules read (VALR's trade: id,
-- orderId, customerOrderId, price, quantity, tradedAt, fee, feeCurrency, side, currencyPair), ccxt's own
-- object kept under `ccxt`. The fee is `fee.cost` in `fee.currency`, else the first of `fees[]`;
-- a negative cost is a rebate, recorded as a negative fee (trade_fee). No fee object: 0 (ccxt said
-- none). A trade carries no client order id in ccxt's structure (ccxt_client_order_id also reads the
-- exchange's own, e.g. Kraken's cl_ord_id in info): `clientOrderId`, when the caller
-- (record_exchange_events) adds it from the same read's order, lets a trade seen before the placement
-- answer find its order. Internal: exchange_payload calls it.
CREATE OR REPLACE FUNCTION lth_pvr.ccxt_trade_payload(p_trade jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'id', p_trade->'id',
               'orderId', p_trade->'order',
               'customerOrderId', lth_pvr.ccxt_client_order_id(p_trade),
               'price', p_trade->'price',
               'quantity', p_trade->'amount',
               'tradedAt', coalesce(NULLIF(p_trade->'timestamp', 'null'), p_trade->'datetime'),
               'fee', fee->'cost',
               'feeCurrency', fee->'currency',
               'side', upper(lth_pvr.json_text(p_trade->'side')),
               'currencyPair', p_trade->'symbol'))
           || jsonb_build_object('ccxt', p_trade)
      FROM (SELECT coalesce(CASE WHEN jsonb_typeof(p_trade->'fee') = 'object' THEN p_trade->'fee' END,
                            CASE WHEN jsonb_typeof(p_trade->'fees') = 'array' THEN p_trade->'fees'->0 END) AS fee) f
$$;

REVOKE ALL ON FUNCTION lth_pvr.ccxt_trade_payload(jsonb) FROM PUBLIC;
