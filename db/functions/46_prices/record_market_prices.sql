-- Owns: recording VALR's live prices (exchange 'valr'; ccxt tickers: record_exchange_prices), one
-- call per read of the trade socket (or per REST round while it is
-- down). p_frames: a jsonb array of MARKET_SUMMARY_UPDATE frames ({"type", "currencyPairSymbol",
-- "data": {...}}) or of marketsummary answers (the data object itself); p_source 'ws' or 'rest'.
-- Per pair the frame VALR stamped last (`created`) wins; a price VALR stamped before the one held is
-- not recorded (a cached REST answer must not undo a newer socket frame). Unreadable numbers are NULL;
-- an item without a pair or without any price is skipped.
-- Returns the orders whose trigger these prices fired (price_triggered_orders: none yet).
CREATE OR REPLACE FUNCTION lth_pvr.record_market_prices(
    p_frames jsonb,
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
    IF p_source NOT IN ('ws', 'rest') THEN
        RAISE EXCEPTION 'source % is not ws or rest', p_source USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WITH items AS (
        SELECT coalesce(f->'data', f) AS d, ord
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_frames) = 'array' THEN p_frames ELSE '[]' END)
               WITH ORDINALITY AS e(f, ord)
         WHERE jsonb_typeof(coalesce(f->'data', f)) = 'object'
    ), prices AS (
        SELECT DISTINCT ON (1)
               upper(lth_pvr.json_text(d->'currencyPair')) AS pair,
               lth_pvr.json_numeric(d->'bidPrice') AS bid,
               lth_pvr.json_numeric(d->'askPrice') AS ask,
               lth_pvr.json_numeric(d->'lastTradedPrice') AS last,
               lth_pvr.json_time(d->'created') AS valr_time
          FROM items
         ORDER BY 1, lth_pvr.json_time(d->'created') DESC NULLS LAST, ord DESC
    ), recorded AS (
        INSERT INTO lth_pvr.market_prices AS m (exchange, pair, bid, ask, last, source, valr_time, received_at)
        SELECT 'valr', p.pair,
               CASE WHEN p.bid > 0 THEN p.bid END, CASE WHEN p.ask > 0 THEN p.ask END,
               CASE WHEN p.last > 0 THEN p.last END, p_source, p.valr_time, p_now
          FROM prices p
         WHERE p.pair ~ '^[A-Z0-9]{5,20}$' AND (p.bid > 0 OR p.ask > 0 OR p.last > 0)
        ON CONFLICT ON CONSTRAINT market_prices_pkey DO UPDATE
           SET bid = excluded.bid, ask = excluded.ask, last = excluded.last, source = excluded.source,
               valr_time = excluded.valr_time, received_at = excluded.received_at
         WHERE m.valr_time IS NULL OR excluded.valr_time IS NULL OR excluded.valr_time >= m.valr_time
        RETURNING m.pair
    )
    SELECT array_agg(r.pair) INTO v_pairs FROM recorded r;

    RETURN QUERY SELECT * FROM lth_pvr.price_triggered_orders(coalesce(v_pairs, '{}'), p_now, 'valr');
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.record_market_prices(jsonb, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.record_market_prices(jsonb, text, timestamptz) TO valr_worker;
