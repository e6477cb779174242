-- Owns: our client order id in a ccxt order or trade: the first UUID (ours are the orders'
-- customer_order_id) among ccxt's `clientOrderId` and the exchange's own field in `info` (`cl_ord_id`:
-- ccxt reads Kraken's socket events' order_userref, 0, as clientOrderId; `client_order_id`); else
-- ccxt's clientOrderId as given (match_order ignores what is no UUID). Internal; ccxt_order_payload and
-- ccxt_trade_payload call it. SQL, so a caller's expression inlines it.
CREATE OR REPLACE FUNCTION lth_pvr.ccxt_client_order_id(p_ccxt jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(
        (SELECT c FROM unnest(ARRAY[p_ccxt->'clientOrderId', p_ccxt->'info'->'cl_ord_id',
                                    p_ccxt->'info'->'client_order_id']) AS c
          WHERE lth_pvr.json_uuid(c) IS NOT NULL LIMIT 1),
        p_ccxt->'clientOrderId')
$$;

REVOKE ALL ON FUNCTION lth_pvr.ccxt_client_order_id(jsonb) FROM PUBLIC;
