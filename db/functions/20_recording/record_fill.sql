-- Owns: one VALR trade (WS NEW_ACCOUNT_TRADE.data or a trade-history row) -> order_fills, and the
-- order's derived filled_qty / avg_price. Idempotent on the trade id. A fill never changes status:
-- a late fill after `cancelled` is kept; a fill beyond the order's quantity is recorded (real
-- money) but flagged `overfill` (event log and v_alerts). A trade without orderId is `unmatched`.
-- The fee is trade_fee's: VALR's `fee`, or a maker rebate (`makerReward`) recorded as a negative fee.
CREATE OR REPLACE FUNCTION lth_pvr.record_fill(
    p_exchange_account_id uuid,
    p_source text,
    p_payload jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, trade_id text, outcome text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_order    lth_pvr.exchange_orders%ROWTYPE;
    v_id       uuid;
    v_trade_id text;
    v_valr_id  text;
    v_price    numeric;
    v_qty      numeric;
    v_fee      numeric;
    v_time     timestamptz;
    v_filled   numeric;
    v_value    numeric;
    v_outcome  text;
    v_detail   text;
BEGIN
    IF p_source NOT IN ('ws', 'poll', 'placement') THEN
        RAISE EXCEPTION 'record_fill: source must be ws, poll or placement, not %', p_source
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(p_payload) IS DISTINCT FROM 'object' THEN
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, p_source, 'trade', 'malformed',
            NULL, NULL, NULL, 'payload is not a JSON object', p_payload, p_now);
        RETURN QUERY SELECT NULL::uuid, NULL::text, 'malformed'::text;
        RETURN;
    END IF;

    v_trade_id := left(lth_pvr.json_text(p_payload->'id'), 200);
    v_valr_id := lth_pvr.json_text(p_payload->'orderId');
    v_price := lth_pvr.json_numeric(p_payload->'price');
    v_qty := lth_pvr.json_numeric(p_payload->'quantity');
    v_fee := lth_pvr.trade_fee(p_payload);  -- fee, or minus makerReward (a maker rebate)
    v_time := lth_pvr.json_time(p_payload->'tradedAt');

    IF v_trade_id IS NULL OR v_trade_id = '' THEN
        v_outcome := 'malformed'; v_detail := 'trade id missing';
    ELSIF v_price IS NULL OR v_price <= 0 THEN
        v_outcome := 'malformed'; v_detail := 'price is not a positive number';
    ELSIF v_qty IS NULL OR v_qty <= 0 THEN
        v_outcome := 'malformed'; v_detail := 'quantity is not a positive number';
    ELSIF v_valr_id IS NULL THEN
        -- Older payloads lacked orderId: never guess which order a trade belongs to.
        v_outcome := 'unmatched';
    END IF;
    IF v_outcome IS NOT NULL THEN
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, p_source, 'trade', v_outcome,
            NULL, NULL, v_time, v_detail, p_payload, p_now);
        RETURN QUERY SELECT NULL::uuid, v_trade_id, v_outcome;
        RETURN;
    END IF;

    -- The common case, matched and locked in one statement: the orderId of one of the account's
    -- orders. Anything else (another account's orderId, a customerOrderId match) is match_order's.
    SELECT * INTO v_order
      FROM lth_pvr.exchange_orders o
     WHERE o.ext_order_id = v_valr_id AND o.exchange_account_id = p_exchange_account_id
       FOR UPDATE;
    IF FOUND THEN
        v_id := v_order.exchange_order_id;
    ELSE
        v_id := lth_pvr.match_order(p_exchange_account_id, p_payload, true);
    END IF;
    IF v_id IS NOT NULL AND v_order.exchange_order_id IS NULL THEN
        SELECT * INTO v_order FROM lth_pvr.exchange_orders o WHERE o.exchange_order_id = v_id FOR UPDATE;
        -- Matched by customerOrderId, but the placement answer (committed while we waited) gave the
        -- order another VALR id: the trade belongs to another order with the same customerOrderId.
        IF v_order.ext_order_id IS NOT NULL AND v_order.ext_order_id <> v_valr_id THEN
            v_id := NULL;
        END IF;
    END IF;
    IF v_id IS NULL THEN
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, p_source, 'trade', 'not_ours',
            NULL, NULL, v_time, NULL, p_payload, p_now);
        RETURN QUERY SELECT NULL::uuid, v_trade_id, 'not_ours'::text;
        RETURN;
    END IF;

    INSERT INTO lth_pvr.order_fills AS f (trade_id, exchange_order_id, price, qty, fee, fee_currency,
                                          traded_at, sequence_id, source, recorded_at)
    VALUES (v_trade_id, v_id, v_price, v_qty, coalesce(v_fee, 0),
            lth_pvr.trade_fee_currency(p_payload),
            coalesce(v_time, p_now),   -- a trade with an unreadable time is still real money
            lth_pvr.json_numeric(p_payload->'sequenceId'), p_source, p_now)
    ON CONFLICT (trade_id) DO NOTHING;

    IF NOT FOUND THEN
        v_outcome := 'duplicate';
    ELSE
        -- The totals grow by this fill (exact numeric sums, kept under the row lock taken above),
        -- rather than summing every fill of the order again.
        v_filled := v_order.filled_qty + v_qty;
        v_value := v_order.filled_value + v_price * v_qty;
        UPDATE lth_pvr.exchange_orders o
           SET filled_qty = v_filled,
               filled_value = v_value,
               avg_price = v_value / v_filled,
               updated_at = p_now,
               exchange_confirmed_at = p_now,
               -- A fill seen before the placement answer tells us VALR's id.
               ext_order_id = coalesce(o.ext_order_id, v_valr_id),
               ws_monitored_at = lth_pvr.ws_monitored_after(o.ws_monitored_at, p_source, p_now)
         WHERE o.exchange_order_id = v_id;
        IF v_filled > coalesce(v_order.original_qty, v_order.qty) THEN
            v_outcome := 'overfill';
            v_detail := format('filled %s exceeds the order quantity %s', v_filled,
                               coalesce(v_order.original_qty, v_order.qty));
        ELSE
            v_outcome := 'recorded';
        END IF;
        IF v_fee IS NULL THEN
            v_detail := concat_ws('; ', v_detail, 'fee unreadable, recorded as 0');
        END IF;
    END IF;

    PERFORM lth_pvr.log_order_event(v_id, v_order.exchange_account_id, p_source, 'trade', v_outcome,
        v_order.status, v_order.status, v_time, v_detail, p_payload, p_now);
    RETURN QUERY SELECT v_id, v_trade_id, v_outcome;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_fill(uuid, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_fill(uuid, text, jsonb, timestamptz) TO valr_worker;
