-- Owns: storing one exchange's refreshed pair list (pg_temp.staged_pairs, filled by its refresh
-- function): every listed pair upserted with its rules; a pair of THAT exchange no longer listed is
-- kept (orders refer to it) but marked inactive; one pair_refreshes row. `pairs_changed` counts the
-- pairs new to the table or whose rules moved (refreshed_at moves every time).
-- Internal; refresh_pairs and refresh_exchange_pairs call it.
CREATE OR REPLACE FUNCTION lth_pvr.write_pair_refresh(
    p_exchange text,
    p_skipped int,
    p_order_types_known boolean,
    p_now timestamptz
)
RETURNS TABLE (pairs_listed int, pairs_changed int, pairs_deactivated int, items_skipped int)
LANGUAGE plpgsql
AS $$
DECLARE
    v_listed      int;
    v_changed     int;
    v_deactivated int;
BEGIN
    SELECT count(*), count(*) FILTER (
               WHERE (v.base_decimal_places, v.tick_size, v.min_base_amount, v.max_base_amount, v.min_quote_amount,
                      v.max_quote_amount, v.active, v.order_types)
                     IS DISTINCT FROM (p.base_decimal_places, p.tick_size, p.min_base_amount, p.max_base_amount,
                                       p.min_quote_amount, p.max_quote_amount, p.active, p.order_types))
      INTO v_listed, v_changed
      FROM pg_temp.staged_pairs v
      LEFT JOIN lth_pvr.pairs p ON p.exchange = p_exchange AND p.pair = v.pair;

    INSERT INTO lth_pvr.pairs AS p
    SELECT * FROM pg_temp.staged_pairs
    ON CONFLICT (exchange, pair) DO UPDATE
       SET base_decimal_places = EXCLUDED.base_decimal_places, tick_size = EXCLUDED.tick_size,
           min_base_amount = EXCLUDED.min_base_amount, base_currency = EXCLUDED.base_currency,
           quote_currency = EXCLUDED.quote_currency, quote_decimal_places = EXCLUDED.quote_decimal_places,
           max_base_amount = EXCLUDED.max_base_amount, min_quote_amount = EXCLUDED.min_quote_amount,
           max_quote_amount = EXCLUDED.max_quote_amount, active = EXCLUDED.active,
           pair_type = EXCLUDED.pair_type, order_types = EXCLUDED.order_types,
           refreshed_at = EXCLUDED.refreshed_at, valr = EXCLUDED.valr;

    UPDATE lth_pvr.pairs p
       SET active = false, refreshed_at = p_now
     WHERE p.exchange = p_exchange AND p.active
       AND NOT EXISTS (SELECT 1 FROM pg_temp.staged_pairs v WHERE v.pair = p.pair);
    GET DIAGNOSTICS v_deactivated = ROW_COUNT;

    INSERT INTO lth_pvr.pair_refreshes (exchange, refreshed_at, pairs_listed, pairs_changed, pairs_deactivated,
                                        items_skipped, order_types_known)
    VALUES (p_exchange, p_now, v_listed, v_changed, v_deactivated, p_skipped, p_order_types_known);
    RETURN QUERY SELECT v_listed, v_changed, v_deactivated, p_skipped;
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.write_pair_refresh(text, int, boolean, timestamptz) FROM PUBLIC;
