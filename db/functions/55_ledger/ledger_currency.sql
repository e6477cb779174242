-- Owns: a currency code from VALR's currency field, in either shape: a code ("ZAR", the REST
-- balances' and history's `currency`) or VALR's currency object, whose `shortName` is the code
-- (its `symbol` is what VALR prints: "R" for ZAR, VALR's WebSocket API → Account, NEW_ACCOUNT_HISTORY_RECORD).
-- An object without shortName falls back to its symbol ({"symbol":"BTC","decimalPlaces":8}, a
-- BALANCE_UPDATE VALR has sent); the one symbol that is not a code, "R", is ZAR (VALR's own sample
-- pairs symbol "R" with shortName "ZAR"). NULL when unreadable; never raises; never "R".
CREATE OR REPLACE FUNCTION lth_pvr.ledger_currency(p_value jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    -- One expression, no FROM: the planner inlines it into its caller's statement. A subquery here kept
    -- it a separate SQL function, planned again on every call (~0.06 ms; a fill's read calls it 7 times).
    SELECT nullif(regexp_replace(upper(btrim(left(CASE jsonb_typeof(p_value)
               WHEN 'string' THEN p_value #>> '{}'
               WHEN 'object' THEN coalesce(lth_pvr.json_text(p_value->'shortName'), lth_pvr.json_text(p_value->'symbol'))
           END, 20))), '^R$', 'ZAR'), '')
$$;

REVOKE ALL ON FUNCTION lth_pvr.ledger_currency(jsonb) FROM PUBLIC;
