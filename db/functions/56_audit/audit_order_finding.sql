-- Owns: **which finding an order's totals make** (NULL: they match). VALR has more trades and more
-- quantity than our fills: `missing_fill` (a trade we lack); we have more fills and more quantity:
-- `unknown_fill` (a fill VALR's history lacks); otherwise a quantity that differs is `qty_mismatch`
-- (a fill recorded or corrected with another quantity) and then a fee that differs `fee_mismatch`.
-- Equal quantities over different counts are no finding: VALR's docs do not promise one history
-- transaction per trade.
CREATE OR REPLACE FUNCTION lth_pvr.audit_order_finding(
    p_valr_trades int, p_valr_qty numeric, p_valr_fee numeric,
    p_our_fills int, p_our_qty numeric, p_our_fee numeric
)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN p_valr_trades > p_our_fills AND p_valr_qty > p_our_qty THEN 'missing_fill'
        WHEN p_our_fills > p_valr_trades AND p_our_qty > p_valr_qty THEN 'unknown_fill'
        WHEN p_valr_qty <> p_our_qty THEN 'qty_mismatch'
        WHEN p_valr_fee <> p_our_fee THEN 'fee_mismatch'
    END
$$;

REVOKE ALL ON FUNCTION lth_pvr.audit_order_finding(int, numeric, numeric, int, numeric, numeric) FROM PUBLIC;
