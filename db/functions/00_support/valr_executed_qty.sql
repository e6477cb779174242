-- Owns no transition: the quantity VALR says an order has executed, from any of its payload shapes
-- (ORDER_STATUS_UPDATE / status endpoint: remainingQuantity; open-orders item: quantity is the
-- remaining quantity). NULL when the payload does not say, or says it in a malformed way.
CREATE OR REPLACE FUNCTION lth_pvr.valr_executed_qty(p_valr jsonb)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
AS $$
    -- json_numeric refuses NaN, Infinity and non-numbers (NULL), so a hostile payload claims nothing.
    SELECT lth_pvr.json_numeric(p_valr -> 'originalQuantity')
         - lth_pvr.json_numeric(coalesce(p_valr -> 'remainingQuantity',
                                         CASE WHEN p_valr ? 'status' THEN p_valr -> 'quantity' END))
$$;

REVOKE ALL ON FUNCTION lth_pvr.valr_executed_qty(jsonb) FROM PUBLIC;
