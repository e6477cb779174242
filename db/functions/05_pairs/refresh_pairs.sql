-- Owns: lth_pvr.pairs from VALR's own answers. p_pairs is GET /v1/public/pairs as received; p_order_types
-- is GET /v1/public/ordertypes (`[{"currencyPair","orderTypes":[…]}]`) or NULL when it could not be
-- read (the order types already held are then kept). Every listed pair is upserted with VALR's rules;
-- a pair VALR no longer lists is kept (orders refer to it) but marked inactive. An item without a
-- readable symbol, tick size or base decimal places is skipped and counted, never guessed.
-- The worker calls it at start and every `pair_refresh_hours`; `valr-monitor pairs` on demand.
-- VALR's pairs only (exchange 'valr'); write_pair_refresh stores them, as it does other exchanges'.
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
    v_skipped     int;
BEGIN
    IF jsonb_typeof(p_pairs) IS DISTINCT FROM 'array' OR jsonb_array_length(p_pairs) = 0 THEN
        -- An empty or unreadable answer must not deactivate every pair.
        RAISE EXCEPTION 'refresh_pairs: VALR''s pair list must be a non-empty JSON array'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    PERFORM lth_pvr.stage_pairs();
    INSERT INTO pg_temp.staged_pairs (pair, base_decimal_places, tick_size, min_base_amount, base_currency,
                                      quote_currency, quote_decimal_places, max_base_amount, min_quote_amount,
                                      max_quote_amount, active, pair_type, order_types, refreshed_at, valr, exchange)
    SELECT DISTINCT ON (r.pair)
           r.pair, r.base_places, r.tick, coalesce(r.min_base, 0),
           left(lth_pvr.json_text(i.item->'baseCurrency'), 20), left(lth_pvr.json_text(i.item->'quoteCurrency'), 20),
           r.quote_places, nullif(lth_pvr.json_numeric(i.item->'maxBaseAmount'), 0),
           coalesce(lth_pvr.json_numeric(i.item->'minQuoteAmount'), 0),
           nullif(lth_pvr.json_numeric(i.item->'maxQuoteAmount'), 0),
           -- Only VALR's explicit true makes a pair tradeable.
           coalesce(i.item->'active' = 'true'::jsonb OR i.item->'active' = '"true"'::jsonb, false),
           left(lth_pvr.json_text(i.item->'currencyPairType'), 20), NULL, p_now, i.item, 'valr'
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
        UPDATE pg_temp.staged_pairs v
           SET order_types = t.types
          FROM (SELECT upper(lth_pvr.json_text(e->'currencyPair')) AS pair,
                       ARRAY(SELECT upper(x) FROM jsonb_array_elements_text(e->'orderTypes') AS x ORDER BY 1) AS types
                  FROM jsonb_array_elements(p_order_types) AS e
                 WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e->'orderTypes') = 'array') t
         WHERE t.pair = v.pair;
    ELSE
        UPDATE pg_temp.staged_pairs v SET order_types = p.order_types
          FROM lth_pvr.pairs p WHERE p.exchange = 'valr' AND p.pair = v.pair;
    END IF;
    RETURN QUERY SELECT * FROM lth_pvr.write_pair_refresh('valr', v_skipped,
                                                          coalesce(jsonb_typeof(p_order_types) = 'array', false), p_now);
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.refresh_pairs(jsonb, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.refresh_pairs(jsonb, jsonb, timestamptz) TO valr_worker;
