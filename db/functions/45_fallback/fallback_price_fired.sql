-- Owns: the price trigger's rule — adverse moves only. A BUY fires when the best ask has risen to
-- price × (1 + move) or above; a SELL when the best bid has fallen to price × (1 − move) or below.
-- A move in the order's favour never fires; a missing side of the book never fires.
CREATE OR REPLACE FUNCTION lth_pvr.fallback_price_fired(
    p_side text, p_price numeric, p_move numeric, p_bid numeric, p_ask numeric
)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(CASE p_side
        WHEN 'BUY'  THEN p_ask >= lth_pvr.fallback_price_threshold(p_side, p_price, p_move)
        WHEN 'SELL' THEN p_bid <= lth_pvr.fallback_price_threshold(p_side, p_price, p_move)
    END, false)
$$;

REVOKE ALL ON FUNCTION lth_pvr.fallback_price_fired(text, numeric, numeric, numeric, numeric) FROM PUBLIC;
