-- Owns: an exchange's pair rules from ccxt's load_markets() (its values: one market object each), as
-- refresh_pairs does VALR's. Spot markets only (`spot` true, or `type` spot); a market's `symbol` is
-- the pair (ccxt's unified BTC/USDT). precision.amount and precision.price are TICK SIZES (ccxt's
-- TICK_SIZE precision mode; the worker converts an exchange in DECIMAL_PLACES mode, n → 10^-n, before
-- calling): tick_size is precision.price, base_decimal_places the amount step's decimal places (a step
-- that is no power of ten, e.g. 0.5, allows any quantity of that many places: the exchange refuses the
-- rest). limits.amount.min/max → min/max_base_amount, limits.cost.min/max → min/max_quote_amount,
-- `active` (ccxt's null: unknown, taken as active; only false deactivates), base, quote; the market
-- itself kept. Order types are not in ccxt's market: NULL (every type accepted). A market without a
-- readable symbol or price tick is skipped and counted; an empty list is refused; a pair of the
-- exchange no longer listed becomes inactive (write_pair_refresh). 'valr' is refused (VALR's pairs come
-- from refresh_pairs), an unknown exchange too, by name.
CREATE OR REPLACE FUNCTION lth_pvr.refresh_exchange_pairs(
    p_exchange text,
    p_markets jsonb,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (pairs_listed int, pairs_changed int, pairs_deactivated int, items_skipped int)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_markets jsonb := CASE jsonb_typeof(p_markets) WHEN 'object' THEN
                           (SELECT coalesce(jsonb_agg(m.value), '[]') FROM jsonb_each(p_markets) m)
                           ELSE p_markets END;  -- load_markets() returns a dict by symbol: its values
    v_listed  int;
BEGIN
    PERFORM lth_pvr.ccxt_exchange(p_exchange, 'refresh_exchange_pairs');
    IF jsonb_typeof(v_markets) IS DISTINCT FROM 'array' OR jsonb_array_length(v_markets) = 0 THEN
        RAISE EXCEPTION 'refresh_exchange_pairs: %''s markets must be a non-empty JSON array', p_exchange
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    PERFORM lth_pvr.stage_pairs();
    INSERT INTO pg_temp.staged_pairs (exchange, pair, base_decimal_places, tick_size, min_base_amount,
                                      base_currency, quote_currency, quote_decimal_places, max_base_amount,
                                      min_quote_amount, max_quote_amount, active, pair_type, order_types,
                                      refreshed_at, valr)
    SELECT DISTINCT ON (r.pair)
           p_exchange, r.pair, scale(trim_scale(r.amount_tick)), r.tick, coalesce(r.min_base, 0),
           left(lth_pvr.json_text(i.item->'base'), 20), left(lth_pvr.json_text(i.item->'quote'), 20),
           scale(trim_scale(r.tick)), nullif(lth_pvr.json_numeric(i.item->'limits'->'amount'->'max'), 0),
           coalesce(lth_pvr.json_numeric(i.item->'limits'->'cost'->'min'), 0),
           nullif(lth_pvr.json_numeric(i.item->'limits'->'cost'->'max'), 0),
           coalesce(i.item->'active' <> 'false'::jsonb, true), 'spot', NULL, p_now, i.item
      FROM jsonb_array_elements(v_markets) AS i(item)
      CROSS JOIN LATERAL (
            SELECT lth_pvr.json_text(i.item->'symbol') AS pair,
                   lth_pvr.json_numeric(i.item->'precision'->'price') AS tick,
                   coalesce(lth_pvr.json_numeric(i.item->'precision'->'amount'), 1e-18) AS amount_tick,
                   lth_pvr.json_numeric(i.item->'limits'->'amount'->'min') AS min_base
           ) r
     WHERE jsonb_typeof(i.item) = 'object'
       AND (i.item->'spot' = 'true'::jsonb OR lth_pvr.json_text(i.item->'type') = 'spot')
       AND r.pair ~ '^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$' AND r.tick > 0
       AND r.amount_tick > 0 AND scale(trim_scale(r.amount_tick)) <= 18 AND scale(trim_scale(r.tick)) <= 18
       AND coalesce(r.min_base, 0) >= 0
     ORDER BY r.pair;
    GET DIAGNOSTICS v_listed = ROW_COUNT;
    IF v_listed = 0 THEN
        RAISE EXCEPTION 'refresh_exchange_pairs: no spot market of %''s % was readable', p_exchange,
                        jsonb_array_length(v_markets)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY SELECT * FROM lth_pvr.write_pair_refresh(p_exchange, jsonb_array_length(v_markets) - v_listed,
                                                          false, p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.refresh_exchange_pairs(text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.refresh_exchange_pairs(text, jsonb, timestamptz) TO valr_worker;
