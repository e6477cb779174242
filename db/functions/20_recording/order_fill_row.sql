-- Owns: the order_fills row of one VALR trade (WS NEW_ACCOUNT_TRADE.data or a trade-history row) —
-- the one place a trade's fields are read: its id, price, quantity, fee (trade_fee: a maker rebate
-- is negative; unreadable: 0, which fill_outcome says), fee currency, time (an unreadable one: p_now,
-- a trade is still real money) and sequence. p_exchange_order_id may be NULL (not matched yet).
-- Internal; record_fill inserts it, record_frames gathers it for write_frame_effects. Whether it
-- can be recorded at all is fill_problem's to say.
CREATE OR REPLACE FUNCTION lth_pvr.order_fill_row(
    p_exchange_order_id uuid,
    p_trade jsonb,
    p_source text,
    p_now timestamptz
)
RETURNS lth_pvr.order_fills
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_fill lth_pvr.order_fills;
BEGIN
    v_fill.trade_id := left(lth_pvr.json_text(p_trade->'id'), 200);
    v_fill.exchange_order_id := p_exchange_order_id;
    v_fill.price := lth_pvr.json_numeric(p_trade->'price');
    v_fill.qty := lth_pvr.json_numeric(p_trade->'quantity');
    v_fill.fee := coalesce(lth_pvr.trade_fee(p_trade), 0);
    v_fill.fee_currency := lth_pvr.trade_fee_currency(p_trade);
    v_fill.traded_at := coalesce(lth_pvr.payload_exchange_time('trade', p_trade), p_now);
    v_fill.sequence_id := lth_pvr.json_numeric(p_trade->'sequenceId');
    v_fill.source := p_source;
    v_fill.recorded_at := p_now;
    RETURN v_fill;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_fill_row(uuid, jsonb, text, timestamptz) FROM PUBLIC;
