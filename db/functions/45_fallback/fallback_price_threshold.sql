-- Owns: the price at which a limit order's price fallback fires: price × (1 + move) for a BUY (the
-- best ask reaching it), price × (1 − move) for a SELL (the best bid reaching it).
CREATE OR REPLACE FUNCTION lth_pvr.fallback_price_threshold(p_side text, p_price numeric, p_move numeric)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE p_side WHEN 'BUY' THEN p_price * (1 + p_move) WHEN 'SELL' THEN p_price * (1 - p_move) END
$$;

REVOKE ALL ON FUNCTION lth_pvr.fallback_price_threshold(text, numeric, numeric) FROM PUBLIC;
