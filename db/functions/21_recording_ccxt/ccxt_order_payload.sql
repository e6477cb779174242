-- Owns: ccxt's unified order (safe_order: id, clientOrderId, status, amount, filled, remaining,
-- average, price, type, side, symbol, timestamp, lastUpdateTimestamp, datetime, info) in the words the
-- recording rules read (VALR's: orderId, customerOrderId, orderStatusType, originalQuantity,
-- remainingQuantity, averagePrice, originalPrice, orderSide, currencyPair, orderCreatedAt,
-- orderUpdatedAt, failedReason), ccxt's own object kept under `ccxt`. ccxt's status words:
--   open      → Placed, or Partially Filled once filled > 0 (submitted);
--   closed    → Filled when nothing remains; Cancelled when some does: an exchange that closes a
--               partly executed order has ended it, and the limit → market fallback replaces the
--               unexecuted rest (remainingQuantity); closed with neither remaining nor amount − filled
--               readable stays ccxt's word, which no rule knows: `unknown_status`, nothing changes,
--               the safety net asks again;
--   canceled  → Cancelled (with fills or without: the fills are their own trades); expired → Expired;
--   rejected  → Failed, failedReason from the exchange's own answer (info) when it gives one;
--   anything else, or none, stays as given: `unknown_status`, as an unknown VALR word.
-- Numbers pass through as ccxt gave them (JSON numbers, strings or null: json_numeric reads both and a
-- garbled one is `malformed` downstream); originalQuantity is filled + remaining when ccxt states
-- both (ccxt's Coinbase events put the cumulative quantity in `amount`), else amount; remaining, when
-- ccxt has none, is amount − filled. Times:
-- ccxt's milliseconds (json_time reads them), else its ISO `datetime`. A market order's limit price
-- is not sent (ccxt may report its average there). customerOrderId: ccxt_client_order_id.
-- An order whose `filled` ccxt leaves null while info states the cumulative executed quantity
-- (`cum_qty`: Kraken's executions events after the first carry no symbol, side or ordered quantity,
-- and ccxt puts cum_qty in `amount`) says what executed, not what was ordered: its amount is not sent
-- as originalQuantity, so the remainder is unknown (a `closed` stays unknown, a canceled one's
-- remainder is never guessed); record_exchange_events completes such an event with the quantity we
-- placed (ccxt_order_completed). Internal: exchange_payload calls it.
CREATE OR REPLACE FUNCTION lth_pvr.ccxt_order_payload(p_order jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_status    text := lth_pvr.json_text(p_order->'status');
    -- Only cum_qty in info: ccxt's amount is what executed, not what was ordered.
    v_cum_only  boolean := coalesce(jsonb_typeof(p_order->'filled'), 'null') = 'null' AND p_order->'info' ? 'cum_qty';
    v_filled    numeric := lth_pvr.json_numeric(CASE WHEN v_cum_only THEN p_order->'info'->'cum_qty'
                                                     ELSE p_order->'filled' END);
    v_left      numeric := lth_pvr.json_numeric(p_order->'remaining');
    -- What was ordered: filled + remaining when ccxt states both (its watch_orders of Coinbase puts
    -- the cumulative quantity in `amount`), else its amount.
    v_amount    jsonb := CASE WHEN v_cum_only THEN NULL
                              WHEN v_filled >= 0 AND v_left >= 0 THEN to_jsonb((v_filled + v_left)::text)
                              ELSE p_order->'amount' END;
    v_remaining jsonb := coalesce(NULLIF(p_order->'remaining', 'null'),
                                  to_jsonb((lth_pvr.json_numeric(v_amount) - v_filled)::text));
    v_word      text;
BEGIN
    v_left := lth_pvr.json_numeric(v_remaining);
    v_word := CASE v_status
        WHEN 'open' THEN CASE WHEN v_filled > 0 THEN 'Partially Filled' ELSE 'Placed' END
        WHEN 'closed' THEN CASE WHEN v_left = 0 THEN 'Filled' WHEN v_left > 0 THEN 'Cancelled' ELSE v_status END
        WHEN 'canceled' THEN 'Cancelled'
        WHEN 'cancelled' THEN 'Cancelled'
        WHEN 'expired' THEN 'Expired'
        WHEN 'rejected' THEN 'Failed'
        ELSE v_status
    END;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'orderId', p_order->'id',
        'customerOrderId', lth_pvr.ccxt_client_order_id(p_order),
        'orderStatusType', v_word,
        'originalQuantity', v_amount,
        'remainingQuantity', v_remaining,
        'averagePrice', p_order->'average',
        'originalPrice', CASE WHEN lth_pvr.json_text(p_order->'type') = 'limit' THEN p_order->'price' END,
        'orderSide', upper(lth_pvr.json_text(p_order->'side')),
        'currencyPair', p_order->'symbol',
        'orderCreatedAt', coalesce(NULLIF(p_order->'timestamp', 'null'), p_order->'datetime'),
        'orderUpdatedAt', coalesce(NULLIF(p_order->'lastUpdateTimestamp', 'null'),
                                   NULLIF(p_order->'lastTradeTimestamp', 'null'),
                                   NULLIF(p_order->'timestamp', 'null'), p_order->'datetime'),
        'failedReason', CASE WHEN v_status = 'rejected' THEN coalesce(
            lth_pvr.json_text(p_order->'info'->'rejectReason'), lth_pvr.json_text(p_order->'info'->'reject_reason'),
            lth_pvr.json_text(p_order->'info'->'reason'), lth_pvr.json_text(p_order->'info'->'message'),
            'rejected by the exchange') END))
        || jsonb_build_object('ccxt', p_order);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ccxt_order_payload(jsonb) FROM PUBLIC;
