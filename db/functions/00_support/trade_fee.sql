-- Owns: what one VALR trade cost in fees, signed: `fee` charged (positive), or a maker rebate —
-- `makerReward` instead of `fee` on rebate pairs — paid to us (negative). 0 when the trade carries
-- neither; NULL when either is present but not a number (the caller records 0 and says so).
-- Used for WS NEW_ACCOUNT_TRADE.data and trade-history rows alike.
CREATE OR REPLACE FUNCTION lth_pvr.trade_fee(p_trade jsonb)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v_fee    numeric := lth_pvr.json_numeric(p_trade->'fee');
    v_reward numeric := lth_pvr.json_numeric(p_trade->'makerReward');
BEGIN
    IF (v_fee IS NULL AND coalesce(jsonb_typeof(p_trade->'fee'), 'null') <> 'null')
       OR (v_reward IS NULL AND coalesce(jsonb_typeof(p_trade->'makerReward'), 'null') <> 'null') THEN
        RETURN NULL;
    END IF;
    RETURN coalesce(v_fee, 0) - coalesce(v_reward, 0);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.trade_fee(jsonb) FROM PUBLIC;
