-- Owns: the currency of trade_fee: `feeCurrency`, or `makerRewardCurrency` when the trade carries a
-- maker rebate and no fee of its own.
CREATE OR REPLACE FUNCTION lth_pvr.trade_fee_currency(p_trade jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT left(CASE WHEN coalesce(lth_pvr.json_numeric(p_trade->'fee'), 0) = 0
                      AND coalesce(lth_pvr.json_numeric(p_trade->'makerReward'), 0) <> 0
                     THEN lth_pvr.json_text(p_trade->'makerRewardCurrency')
                     ELSE coalesce(lth_pvr.json_text(p_trade->'feeCurrency'),
                                   lth_pvr.json_text(p_trade->'makerRewardCurrency')) END, 20)
$$;

REVOKE ALL ON FUNCTION lth_pvr.trade_fee_currency(jsonb) FROM PUBLIC;
