-- Owns: whether record_frames may record a trade of one of the account's orders in memory — record_fill
-- would record it (`recorded`) or call it a `duplicate`, with nothing else to say about it: the
-- trade id, price and quantity are readable, the fee (or maker reward) is readable or absent, and a new fill keeps
-- the order within its quantity (an `overfill` is record_fill's to flag).
-- Internal; record_frames calls it with the order named by the trade's orderId.
CREATE OR REPLACE FUNCTION lth_pvr.trade_is_common(
    p_trade jsonb,
    p_order lth_pvr.exchange_orders,
    p_held_trade_ids text[]
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_trade_id text := left(lth_pvr.json_text(p_trade->'id'), 200);
    v_qty      numeric := lth_pvr.json_numeric(p_trade->'quantity');
BEGIN
    IF v_trade_id IS NULL OR v_trade_id = '' OR NOT coalesce(lth_pvr.json_numeric(p_trade->'price') > 0, false)
       OR NOT coalesce(v_qty > 0, false) THEN
        RETURN false;
    END IF;
    IF lth_pvr.trade_fee(p_trade) IS NULL THEN
        RETURN false;
    END IF;
    RETURN v_trade_id = ANY (p_held_trade_ids)
        OR p_order.filled_qty + v_qty <= coalesce(p_order.original_qty, p_order.qty);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.trade_is_common(jsonb, lth_pvr.exchange_orders, text[]) FROM PUBLIC;
