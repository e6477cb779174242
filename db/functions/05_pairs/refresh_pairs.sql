-- Owns: lth_pvr.pairs from VALR's own answers. p_pairs is GET /v1/public/pairs as received; p_order_types
-- is GET /v1/public/ordertypes (`[{"currencyPair","orderTypes":[…]}]`) or NULL when it could not be
-- read (the order types already held are then kept). Every listed pair is upserted with VALR's rules;
-- a pair VALR no longer lists is kept (orders refer to it) but marked inactive. An item without a
-- readable symbol, tick size or base decimal places is skipped and counted, never guessed.
-- The worker calls it at start and every `pair_refresh_hours`; `valr-monitor pairs` on demand.
CREATE OR REPLACE FUNCTION lth_pvr.refresh_pairs(
    p_pairs jsonb,
    p_order_types jsonb DEFAULT NULL,
    p_now timestamptz DEFAULT now()
)
RETURNS TABLE (pairs_listed int, pairs_changed int, pairs_deactivated int, items_skipped int)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
DECLARE
    v_listed      int;
    v_changed     int;
    v_deactivated int;
    v_skipped     int;
BEGIN
    IF jsonb_typeof(p_pairs) IS DISTINCT FROM 'array' OR jsonb_array_length(p_pairs) = 0 THEN
        -- An empty or unreadable answer must not deactivate every pair.
        RAISE EXCEPTION 'refresh_pairs: VALR''s pair list must be a non-empty JSON array'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    CREATE TEMP TABLE IF NOT EXISTS pg_temp.valr_pairs (LIKE lth_pvr.pairs) ON COMMIT DROP;
    TRUNCATE pg_temp.valr_pairs;
    INSERT INTO pg_temp.valr_pairs (pair, base_decimal_places, tick_size, min_base_amount, base_currency,
                                    quote_currency, quote_decimal_places, max_base_amount, min_quote_amount,
                                    max_quote_amount, active, pair_type, order_types, refreshed_at, valr)
    SELECT DISTINCT ON (r.pair)
           r.pair, r.base_places, r.tick, coalesce(r.min_base, 0),
           left(lth_pvr.json_text(i.item->'baseCurrency'), 20), left(lth_pvr.json_text(i.item->'quoteCurrency'), 20),
           r.quote_places, nullif(lth_pvr.json_numeric(i.item->'maxBaseAmount'), 0),
           coalesce(lth_pvr.json_numeric(i.item->'minQuoteAmount'), 0),
           nullif(lth_pvr.json_numeric(i.item->'maxQuoteAmount'), 0),
           -- Only VALR's explicit true makes a pair tradeable.
           coalesce(i.item->'active' = 'true'::jsonb OR i.item->'active' = '"true"'::jsonb, false),
           left(lth_pvr.json_text(i.item->'currencyPairType'), 20), NULL, p_now, i.item
      FROM jsonb_array_elements(p_pairs) AS i(item)
      CROSS JOIN LATERAL (
            SELECT upper(lth_pvr.json_text(i.item->'symbol')) AS pair,
                   lth_pvr.json_numeric(i.item->'tickSize') AS tick,
                   lth_pvr.json_numeric(i.item->'baseDecimalPlaces') AS base_places_n,
                   lth_pvr.json_numeric(i.item->'quoteDecimalPlaces') AS quote_places_n,
                   lth_pvr.json_numeric(i.item->'minBaseAmount') AS min_base
           ) n
      CROSS JOIN LATERAL (
            SELECT n.pair, n.tick, n.min_base,
                   CASE WHEN n.base_places_n BETWEEN 0 AND 18 AND n.base_places_n = trunc(n.base_places_n)
                        THEN n.base_places_n::int END AS base_places,
                   CASE WHEN n.quote_places_n BETWEEN 0 AND 18 AND n.quote_places_n = trunc(n.quote_places_n)
                        THEN n.quote_places_n::int END AS quote_places
           ) r
     WHERE jsonb_typeof(i.item) = 'object'
       AND r.pair ~ '^[A-Z0-9]{5,20}$' AND r.tick > 0 AND r.base_places IS NOT NULL
       AND coalesce(r.min_base, 0) >= 0
     ORDER BY r.pair;
    GET DIAGNOSTICS v_listed = ROW_COUNT;
    v_skipped := jsonb_array_length(p_pairs) - v_listed;
    IF v_listed = 0 THEN
        RAISE EXCEPTION 'refresh_pairs: no item of VALR''s pair list was readable (% items)', jsonb_array_length(p_pairs)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF jsonb_typeof(p_order_types) = 'array' THEN
        UPDATE pg_temp.valr_pairs v
           SET order_types = t.types
          FROM (SELECT upper(lth_pvr.json_text(e->'currencyPair')) AS pair,
                       ARRAY(SELECT upper(x) FROM jsonb_array_elements_text(e->'orderTypes') AS x ORDER BY 1) AS types
                  FROM jsonb_array_elements(p_order_types) AS e
                 WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e->'orderTypes') = 'array') t
         WHERE t.pair = v.pair;
    ELSE
        UPDATE pg_temp.valr_pairs v SET order_types = p.order_types FROM lth_pvr.pairs p WHERE p.pair = v.pair;
    END IF;

    -- Changed: new to the table, or one of its rules moved (refreshed_at moves every time).
    SELECT count(*) INTO v_changed
      FROM pg_temp.valr_pairs v
      LEFT JOIN lth_pvr.pairs p USING (pair)
     WHERE (v.base_decimal_places, v.tick_size, v.min_base_amount, v.max_base_amount, v.min_quote_amount,
            v.max_quote_amount, v.active, v.order_types)
           IS DISTINCT FROM (p.base_decimal_places, p.tick_size, p.min_base_amount, p.max_base_amount,
                             p.min_quote_amount, p.max_quote_amount, p.active, p.order_types);

    INSERT INTO lth_pvr.pairs AS p
    SELECT * FROM pg_temp.valr_pairs
    ON CONFLICT (pair) DO UPDATE
       SET base_decimal_places = EXCLUDED.base_decimal_places, tick_size = EXCLUDED.tick_size,
           min_base_amount = EXCLUDED.min_base_amount, base_currency = EXCLUDED.base_currency,
           quote_currency = EXCLUDED.quote_currency, quote_decimal_places = EXCLUDED.quote_decimal_places,
           max_base_amount = EXCLUDED.max_base_amount, min_quote_amount = EXCLUDED.min_quote_amount,
           max_quote_amount = EXCLUDED.max_quote_amount, active = EXCLUDED.active,
           pair_type = EXCLUDED.pair_type, order_types = EXCLUDED.order_types,
           refreshed_at = EXCLUDED.refreshed_at, valr = EXCLUDED.valr;

    UPDATE lth_pvr.pairs p
       SET active = false, refreshed_at = p_now
     WHERE p.active AND NOT EXISTS (SELECT 1 FROM pg_temp.valr_pairs v WHERE v.pair = p.pair);
    GET DIAGNOSTICS v_deactivated = ROW_COUNT;

    INSERT INTO lth_pvr.pair_refreshes (refreshed_at, pairs_listed, pairs_changed, pairs_deactivated,
                                        items_skipped, order_types_known)
    VALUES (p_now, v_listed, v_changed, v_deactivated, v_skipped, coalesce(jsonb_typeof(p_order_types) = 'array', false));
    RETURN QUERY SELECT v_listed, v_changed, v_deactivated, v_skipped;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.refresh_pairs(jsonb, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.refresh_pairs(jsonb, jsonb, timestamptz) TO valr_worker;
