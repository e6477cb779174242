-- Owns: whether a trade can be recorded at all — the one validator of a fill: its trade id, price and
-- quantity (as order_fill_row read them) must be there, the price and quantity positive. Returns why
-- not (the `malformed` event's detail), NULL when the fill is readable.
-- Internal; record_fill (a `malformed` trade is logged and skipped) and record_frames (only a readable
-- trade is recorded in memory) call it.
CREATE OR REPLACE FUNCTION lth_pvr.fill_problem(p_fill lth_pvr.order_fills)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF p_fill.trade_id IS NULL OR p_fill.trade_id = '' THEN
        RETURN 'trade id missing';
    ELSIF p_fill.price IS NULL OR p_fill.price <= 0 THEN
        RETURN 'price is not a positive number';
    ELSIF p_fill.qty IS NULL OR p_fill.qty <= 0 THEN
        RETURN 'quantity is not a positive number';
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.fill_problem(lth_pvr.order_fills) FROM PUBLIC;
