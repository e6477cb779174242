-- Owns: the second step of the fallback — called by finish_order, inside the transaction that records
-- VALR's final word on an order whose fallback was requested (fallback_requested_at), once:
--   VALR says Filled                    nothing to replace (fallback_outcome 'filled', `filled_first`)
--   VALR says Cancelled / Expired / …   a market order of the same intent for the quantity VALR says
--                                       was not executed (its payload's remainingQuantity — not our
--                                       fill sum, which may still wait for a late trade event), capped
--                                       by what the intent has left (intent_asked_qty minus
--                                       intent_executes_at_most: what its orders executed or, live,
--                                       may still execute): 'replaced'.
--                                       The replacement is pending (placed by the usual claim → socket
--                                       first → POST), has its own customerOrderId (its own id), and
--                                       no fallback.
--     remainingQuantity absent/garbled  nothing ('remainder_unknown': we never guess a quantity)
--     nothing left                      nothing ('nothing_left')
--     below the pair's minimum          nothing ('below_minimum': the insert's pair rules,
--                                       check_pair_rules, refuse it as qty_must_reach_min_base_amount
--                                       or value_must_reach_min_quote_amount, at market_order_price)
--     the pair's rules refuse it        nothing ('refused': e.g. above the maximum, pair inactive)
--   a person cancelled it after the fallback fired (fallback_outcome 'cancelled_by_person', set by
--   request_cancel): finish_order does not call this, and it places nothing if called.
-- Each decision is an order_events row (kind `fallback`) with the quantities; alerts name the
-- orders left without replacement.
-- Internal: finish_order calls it.
CREATE OR REPLACE FUNCTION lth_pvr.replace_after_fallback(
    p_exchange_order_id uuid,
    p_source text,
    p_now timestamptz DEFAULT now()
)
RETURNS text
LANGUAGE plpgsql
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_order     exchange_orders%ROWTYPE;
    v_pair      pairs%ROWTYPE;
    v_remaining numeric;
    v_left      numeric;
    v_qty       numeric;
    v_rule      text;
    v_outcome   text;
    v_new_id    uuid := gen_random_uuid();
    v_detail    text;
BEGIN
    SELECT * INTO v_order FROM exchange_orders o WHERE o.exchange_order_id = p_exchange_order_id;
    IF v_order.fallback_outcome IS NOT NULL THEN
        RETURN v_order.fallback_outcome;  -- decided already (e.g. a person's cancel turned it off)
    END IF;
    IF v_order.status = 'filled' THEN
        v_outcome := 'filled';
        v_detail := 'VALR says Filled before the cancel took effect: no replacement';
    ELSE
        v_remaining := json_numeric(v_order.raw -> 'valr' -> 'remainingQuantity');
        v_left := intent_asked_qty(v_order.intent_id) - intent_executes_at_most(v_order.intent_id);
        v_qty := least(v_remaining, v_left);
        SELECT * INTO v_pair FROM pairs p WHERE p.pair = v_order.pair;
        IF FOUND AND v_qty IS NOT NULL THEN
            v_qty := trunc(v_qty, v_pair.base_decimal_places);
        END IF;
        IF v_remaining IS NULL OR v_remaining < 0 THEN
            v_outcome := 'remainder_unknown';
            v_detail := 'VALR''s final payload does not say the remaining quantity: nothing placed';
        ELSIF v_qty <= 0 THEN
            v_outcome := 'nothing_left';
            v_detail := format('VALR says %s remaining; the intent has %s left: nothing placed', v_remaining, v_left);
        ELSE
            BEGIN
                INSERT INTO exchange_orders (exchange_order_id, exchange_account_id, intent_id,
                                             pair, side, qty, order_type, replaces_order_id, created_at, updated_at)
                VALUES (v_new_id, v_order.exchange_account_id, v_order.intent_id,
                        v_order.pair, v_order.side, v_qty, 'market', v_order.exchange_order_id, p_now, p_now);
                v_outcome := 'replaced';
                v_detail := format('VALR says %s of %s not executed: market %s %s placed as order %s',
                                   v_remaining, v_order.qty, v_order.side, v_qty, v_new_id);
            EXCEPTION WHEN check_violation OR unique_violation THEN
                GET STACKED DIAGNOSTICS v_rule = CONSTRAINT_NAME;
                IF v_rule IN ('qty_must_reach_min_base_amount', 'value_must_reach_min_quote_amount') THEN
                    v_outcome := 'below_minimum';
                    v_detail := format('remainder %s is below %s''s minimum (%s): nothing placed',
                                       v_qty, v_order.pair, SQLERRM);
                ELSE
                    v_outcome := 'refused';
                    v_detail := format('a market order for %s is refused: %s', v_qty, SQLERRM);
                END IF;
            END;
        END IF;
    END IF;

    UPDATE exchange_orders o SET fallback_outcome = v_outcome WHERE o.exchange_order_id = v_order.exchange_order_id;
    PERFORM log_order_event(v_order.exchange_order_id, v_order.exchange_account_id, p_source, 'fallback',
        CASE v_outcome WHEN 'filled' THEN 'filled_first' WHEN 'refused' THEN 'replacement_refused'
                       ELSE v_outcome END,
        v_order.status, v_order.status, NULL, v_detail,
        jsonb_build_object('trigger', v_order.fallback_reason, 'price_seen', v_order.fallback_price,
                           'threshold', v_order.fallback_threshold, 'qty', v_order.qty,
                           'remaining', v_remaining, 'intent_left', v_left, 'replacement_qty',
                           CASE WHEN v_outcome = 'replaced' THEN v_qty END,
                           'replacement_id', CASE WHEN v_outcome = 'replaced' THEN v_new_id END),
        p_now);
    IF v_outcome = 'replaced' THEN
        PERFORM log_order_event(v_new_id, v_order.exchange_account_id, p_source, 'fallback', 'replacement',
            NULL, 'pending', NULL,
            format('replaces %s (%s fallback) for the %s VALR did not execute', v_order.exchange_order_id,
                   v_order.fallback_reason, v_qty),
            jsonb_build_object('replaces', v_order.exchange_order_id, 'qty', v_qty), p_now);
    END IF;
    RETURN v_outcome;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.replace_after_fallback(uuid, text, timestamptz) FROM PUBLIC;
