-- Owns: the order_fills row of one trade (WS NEW_ACCOUNT_TRADE.data), as record_fill inserts it.
-- Internal; record_frames calls it for a trade trade_is_common accepted.
CREATE OR REPLACE FUNCTION lth_pvr.order_fill_row(
    p_exchange_order_id uuid,
    p_trade jsonb,
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
    v_fill.fee := coalesce(lth_pvr.trade_fee(p_trade), 0);   -- a maker rebate is negative
    v_fill.fee_currency := lth_pvr.trade_fee_currency(p_trade);
    -- A trade with an unreadable time is still real money.
    v_fill.traded_at := coalesce(lth_pvr.json_time(p_trade->'tradedAt'), p_now);
    v_fill.sequence_id := lth_pvr.json_numeric(p_trade->'sequenceId');
    v_fill.source := 'ws';
    v_fill.recorded_at := p_now;
    RETURN v_fill;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_fill_row(uuid, jsonb, timestamptz) FROM PUBLIC;
