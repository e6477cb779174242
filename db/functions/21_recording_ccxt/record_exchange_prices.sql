-- Owns: recording live prices of an exchange reached through ccxt, one call per read of its price
-- stream (watch_ticker / watch_tickers / watch_bids_asks, or fetch_tickers over REST): p_tickers is
-- ccxt's tickers, an array or the dict by symbol watch_tickers returns (`symbol`, `bid`, `ask`,
-- `last`, `timestamp` ms or `datetime`). Into market_prices of THAT exchange (the same symbol on
-- another is another price), with record_market_prices' rule: per pair the ticker stamped last wins and
-- a price stamped before the one held is not recorded; unreadable or non-positive numbers are NULL; a
-- ticker without a symbol or any price is skipped. Then the price fallback of that exchange's orders
-- on those pairs (price_triggered_orders), whose fired orders it returns, as record_market_prices.
CREATE OR REPLACE FUNCTION lth_pvr.record_exchange_prices(
    p_exchange text,
    p_tickers jsonb,
    p_source text DEFAULT 'ws',
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (exchange_order_id uuid, exchange_account_id uuid, subaccount_id text, pair text, side text,
               price numeric, price_seen numeric, trigger text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_pairs text[];
BEGIN
    PERFORM lth_pvr.ccxt_exchange(p_exchange, 'record_exchange_prices');
    IF p_source NOT IN ('ws', 'rest') THEN
        RAISE EXCEPTION 'source % is not ws or rest', p_source USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WITH items AS (
        SELECT t, ord
          FROM jsonb_array_elements(CASE jsonb_typeof(p_tickers)
                                        WHEN 'array' THEN p_tickers
                                        WHEN 'object' THEN (SELECT coalesce(jsonb_agg(e.value), '[]')
                                                              FROM jsonb_each(p_tickers) e)
                                        ELSE '[]' END) WITH ORDINALITY AS e(t, ord)
         WHERE jsonb_typeof(t) = 'object'
    ), prices AS (
        SELECT DISTINCT ON (1)
               lth_pvr.json_text(t->'symbol') AS pair,
               lth_pvr.json_numeric(t->'bid') AS bid,
               lth_pvr.json_numeric(t->'ask') AS ask,
               lth_pvr.json_numeric(t->'last') AS last,
               lth_pvr.json_time(coalesce(NULLIF(t->'timestamp', 'null'), t->'datetime')) AS stamped_at
          FROM items
         ORDER BY 1, 5 DESC NULLS LAST, ord DESC
    ), recorded AS (
        INSERT INTO lth_pvr.market_prices AS m (exchange, pair, bid, ask, last, source, valr_time, received_at)
        SELECT p_exchange, p.pair,
               CASE WHEN p.bid > 0 THEN p.bid END, CASE WHEN p.ask > 0 THEN p.ask END,
               CASE WHEN p.last > 0 THEN p.last END, p_source, p.stamped_at, p_now
          FROM prices p
         WHERE p.pair ~ '^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$' AND (p.bid > 0 OR p.ask > 0 OR p.last > 0)
        ON CONFLICT ON CONSTRAINT market_prices_pkey DO UPDATE
           SET bid = excluded.bid, ask = excluded.ask, last = excluded.last, source = excluded.source,
               valr_time = excluded.valr_time, received_at = excluded.received_at
         WHERE m.valr_time IS NULL OR excluded.valr_time IS NULL OR excluded.valr_time >= m.valr_time
        RETURNING m.pair
    )
    SELECT array_agg(r.pair) INTO v_pairs FROM recorded r;

    RETURN QUERY SELECT * FROM lth_pvr.price_triggered_orders(coalesce(v_pairs, '{}'), p_now, p_exchange);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_exchange_prices(text, jsonb, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_exchange_prices(text, jsonb, text, timestamptz) TO valr_worker;
