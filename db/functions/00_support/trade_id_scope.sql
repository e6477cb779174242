-- Owns: within what an exchange's trade id is unique, beside the exchange itself. Binance numbers trades
-- per symbol (BTCUSDT's trade 42 and ETHUSDT's trade 42 are two trades of one account), so its scope is
-- the order's pair; VALR's, Kraken's and Coinbase's trade ids are unique across the exchange (scope '').
-- order_fills is unique by (exchange, id_scope, trade_id); exchange_of_row sets id_scope from this.
CREATE OR REPLACE FUNCTION lth_pvr.trade_id_scope(p_exchange text, p_pair text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p_exchange = 'binance' THEN p_pair ELSE '' END
$$;

REVOKE ALL ON FUNCTION lth_pvr.trade_id_scope(text, text) FROM PUBLIC;
