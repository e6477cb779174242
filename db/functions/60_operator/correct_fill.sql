-- Owns: the only change to a recorded fill: SELECT lth_pvr.correct_fill('<trade id>', qty, price, 'why');
-- qty 0 removes the fill. The order's filled_qty, filled_value and avg_price are recomputed from its
-- fills (order_fill_totals, the rule record_fill grows them by), and an event row (source operator,
-- kind fill_correction) keeps the fill before and after and the reason. Returns `corrected`,
-- `removed`, or `unknown_trade`. The order's status does not move: a status follows VALR's word only.
CREATE OR REPLACE FUNCTION lth_pvr.correct_fill(
    p_trade_id text,
    p_qty numeric,
    p_price numeric,
    p_reason text,
    p_now timestamptz DEFAULT now()
)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_fill    order_fills%ROWTYPE;
    v_order   exchange_orders%ROWTYPE;
    v_outcome text := CASE WHEN p_qty = 0 THEN 'removed' ELSE 'corrected' END;
BEGIN
    IF p_reason IS NULL OR btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'correct_fill: say why (p_reason)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    BEGIN
        SELECT * INTO STRICT v_fill FROM order_fills f WHERE f.trade_id = p_trade_id FOR UPDATE;
    EXCEPTION
        WHEN no_data_found THEN
            RETURN 'unknown_trade';
        WHEN too_many_rows THEN  -- trade ids are unique per exchange only: never guess which
            RAISE EXCEPTION 'correct_fill: trade id % is held on more than one exchange', p_trade_id
                USING ERRCODE = 'invalid_parameter_value';
    END;
    PERFORM set_config('lth_pvr.fill_correction', 'on', true);
    IF p_qty = 0 THEN
        DELETE FROM order_fills f WHERE f.fill_id = v_fill.fill_id;
    ELSE
        UPDATE order_fills f SET qty = p_qty, price = p_price WHERE f.fill_id = v_fill.fill_id;
    END IF;
    PERFORM set_config('lth_pvr.fill_correction', 'off', true);
    -- The totals summed again from the fills, by the rule every fill's recording follows.
    SELECT * INTO v_order FROM exchange_orders o WHERE o.exchange_order_id = v_fill.exchange_order_id FOR UPDATE;
    SELECT * INTO v_order
      FROM order_fill_totals(v_order,
               (SELECT coalesce(sum(f.qty), 0) FROM order_fills f WHERE f.exchange_order_id = v_order.exchange_order_id),
               (SELECT coalesce(sum(f.qty * f.price), 0) FROM order_fills f
                 WHERE f.exchange_order_id = v_order.exchange_order_id));
    UPDATE exchange_orders o
       SET filled_qty = v_order.filled_qty, filled_value = v_order.filled_value, avg_price = v_order.avg_price
     WHERE o.exchange_order_id = v_order.exchange_order_id;
    PERFORM log_order_event(v_fill.exchange_order_id, NULL, 'operator', 'fill_correction', v_outcome,
        NULL, NULL, NULL, left(p_reason, 500),
        jsonb_build_object('trade_id', p_trade_id, 'before', jsonb_build_object('qty', v_fill.qty, 'price', v_fill.price),
                           'after', CASE WHEN p_qty = 0 THEN NULL ELSE jsonb_build_object('qty', p_qty, 'price', p_price) END),
        p_now);
    RETURN v_outcome;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.correct_fill(text, numeric, numeric, text, timestamptz) FROM PUBLIC;
