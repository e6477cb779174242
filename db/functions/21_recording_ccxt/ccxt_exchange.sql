-- Owns: which exchanges are reached through ccxt (binance, kraken, coinbase): the functions that take
-- ccxt's structures for one exchange refuse any other by name (`exchange_must_be_reached_through_ccxt`):
-- 'valr' has its own (refresh_pairs, record_market_prices), an unknown exchange none.
-- Internal; refresh_exchange_pairs and record_exchange_prices call it. Returns the exchange.
CREATE OR REPLACE FUNCTION lth_pvr.ccxt_exchange(p_exchange text, p_caller text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF p_exchange IS NULL OR p_exchange NOT IN ('binance', 'kraken', 'coinbase') THEN
        RAISE EXCEPTION '%: % is not an exchange reached through ccxt (binance, kraken, coinbase)%', p_caller,
                        coalesce(p_exchange, 'NULL'),
                        CASE WHEN p_exchange = 'valr' THEN ': VALR''s come through its own functions' ELSE '' END
            USING ERRCODE = 'check_violation', CONSTRAINT = 'exchange_must_be_reached_through_ccxt';
    END IF;
    RETURN p_exchange;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ccxt_exchange(text, text) FROM PUBLIC;
