-- Owns: the mapping from VALR's orderStatusType (or an open-orders item's `status`) to our status.
-- The one place the mapping lives. NULL means "unknown status": callers log it and ignore it.
CREATE OR REPLACE FUNCTION lth_pvr.valr_status(p_valr_status text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE p_valr_status
        WHEN 'Placed'           THEN 'submitted'
        WHEN 'Partially Filled' THEN 'submitted'
        WHEN 'Order Modified'   THEN 'submitted'
        WHEN 'Active'           THEN 'submitted'   -- an untriggered stop order: open
        WHEN 'Filled'           THEN 'filled'
        WHEN 'Cancelled'        THEN 'cancelled'
        WHEN 'Expired'          THEN 'cancelled'
        WHEN 'Partially Filled and Cancelled Due To Slippage' THEN 'cancelled'
        WHEN 'Failed'           THEN 'failed'
    END
$$;

REVOKE ALL ON FUNCTION lth_pvr.valr_status(text) FROM PUBLIC;
