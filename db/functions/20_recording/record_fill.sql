-- Owns: one VALR trade (WS NEW_ACCOUNT_TRADE.data or a trade-history row; or ccxt's unified trade,
-- translated by exchange_payload) -> order_fills, and the
-- order's derived filled_qty / avg_price. Idempotent on the trade id. A fill never changes status:
-- a late fill after `cancelled` is kept; a fill beyond the order's quantity is recorded (real
-- money) but flagged `overfill` (event log and v_alerts). A trade without orderId is `unmatched`.
-- Built from the pieces record_frames (the fast path) uses too: the fill row (order_fill_row), the
-- validator (fill_problem), the order row after the fill (order_after_fill) and its outcome
-- (fill_outcome); what is left here is matching the order and writing.
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
    v_after    lth_pvr.exchange_orders%ROWTYPE;
    v_fill     lth_pvr.order_fills;
    v_id       uuid;
    v_valr_id  text;
    v_time     timestamptz;
    v_outcome  text;
    v_detail   text;
BEGIN
    IF p_source NOT IN ('ws', 'poll', 'placement') THEN
        RAISE EXCEPTION 'record_fill: source must be ws, poll or placement, not %', p_source
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    p_payload := lth_pvr.exchange_payload(p_payload);  -- ccxt's unified trade: in VALR's words
    IF jsonb_typeof(p_payload) IS DISTINCT FROM 'object' THEN
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, p_source, 'trade', 'malformed',
            NULL, NULL, NULL, 'payload is not a JSON object', p_payload, p_now);
        RETURN QUERY SELECT NULL::uuid, NULL::text, 'malformed'::text;
        RETURN;
    END IF;

    v_fill := lth_pvr.order_fill_row(NULL, p_payload, p_source, p_now);
    v_valr_id := lth_pvr.json_text(p_payload->'orderId');
    v_time := lth_pvr.payload_exchange_time('trade', p_payload);   -- the event's: NULL when unreadable

    v_detail := lth_pvr.fill_problem(v_fill);
    IF v_detail IS NOT NULL THEN
        v_outcome := 'malformed';
    ELSIF v_valr_id IS NULL THEN
        -- Older payloads lacked orderId: never guess which order a trade belongs to.
        v_outcome := 'unmatched';
    END IF;
    IF v_outcome IS NOT NULL THEN
        PERFORM lth_pvr.log_order_event(NULL, p_exchange_account_id, p_source, 'trade', v_outcome,
            NULL, NULL, v_time, v_detail, p_payload, p_now);
        RETURN QUERY SELECT NULL::uuid, v_fill.trade_id, v_outcome;
        RETURN;
    END IF;

    -- The common case, matched and locked in one statement: the orderId of one of the account's
    -- orders. Anything else (another account's orderId, a customerOrderId match) is match_order's.
    SELECT * INTO v_order
      FROM lth_pvr.exchange_orders o
     WHERE o.ext_order_id = v_valr_id AND o.exchange_account_id = p_exchange_account_id
       AND o.exchange = (SELECT a.exchange FROM lth_pvr.exchange_accounts a
                          WHERE a.exchange_account_id = p_exchange_account_id)
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
        RETURN QUERY SELECT NULL::uuid, v_fill.trade_id, 'not_ours'::text;
        RETURN;
    END IF;

    v_fill.exchange_order_id := v_id;
    INSERT INTO lth_pvr.order_fills AS f (trade_id, exchange_order_id, price, qty, fee, fee_currency,
                                          traded_at, sequence_id, source, recorded_at)
    VALUES (v_fill.trade_id, v_fill.exchange_order_id, v_fill.price, v_fill.qty, v_fill.fee,
            v_fill.fee_currency, v_fill.traded_at, v_fill.sequence_id, v_fill.source, v_fill.recorded_at)
    ON CONFLICT (exchange, id_scope, trade_id) DO NOTHING;

    IF NOT FOUND THEN
        v_outcome := 'duplicate';
    ELSE
        -- The totals grow by this fill, under the row lock taken above, rather than summing every
        -- fill of the order again.
        v_after := lth_pvr.order_after_fill(v_order, v_fill, p_now);
        UPDATE lth_pvr.exchange_orders o
           SET filled_qty = v_after.filled_qty,
               filled_value = v_after.filled_value,
               avg_price = v_after.avg_price,
               updated_at = v_after.updated_at,
               exchange_confirmed_at = v_after.exchange_confirmed_at,
               ws_monitored_at = v_after.ws_monitored_at,
               -- A fill seen before the placement answer tells us VALR's id.
               ext_order_id = coalesce(o.ext_order_id, v_valr_id)
         WHERE o.exchange_order_id = v_id;
        SELECT r.outcome, r.detail INTO v_outcome, v_detail FROM lth_pvr.fill_outcome(v_after, p_payload) r;
    END IF;

    PERFORM lth_pvr.log_order_event(v_id, v_order.exchange_account_id, p_source, 'trade', v_outcome,
        v_order.status, v_order.status, v_time, v_detail, p_payload, p_now);
    RETURN QUERY SELECT v_id, v_fill.trade_id, v_outcome;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_fill(uuid, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_fill(uuid, text, jsonb, timestamptz) TO valr_worker;
