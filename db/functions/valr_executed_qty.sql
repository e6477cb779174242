-- Owns no transition: the quantity VALR says an order has executed, from any of its payload shapes
-- (ORDER_STATUS_UPDATE / status endpoint: remainingQuantity; open-orders item: quantity is the
-- remaining quantity). NULL when the payload does not say, or says it in a malformed way.
CREATE OR REPLACE FUNCTION lth_pvr.valr_executed_qty(p_valr jsonb)
RETURNS numeric
LANGUAGE plpgsql
IMMUTABLE
SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_original  text := p_valr ->> 'originalQuantity';
    v_remaining text := coalesce(p_valr ->> 'remainingQuantity',
                                 CASE WHEN p_valr ? 'status' THEN p_valr ->> 'quantity' END);
BEGIN
    IF v_original IS NULL OR v_remaining IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN v_original::numeric - v_remaining::numeric;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
    RETURN NULL;  -- hostile or malformed numbers: no claim about fills
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.valr_executed_qty(jsonb) FROM PUBLIC;
