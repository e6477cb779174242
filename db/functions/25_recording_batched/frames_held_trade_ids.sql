-- Owns: which trade ids of a WebSocket read's NEW_ACCOUNT_TRADE frames order_fills already holds
-- (record_fill's `duplicate`, judged once per read by record_frames instead of once per trade).
-- Read after the orders are locked (a fill of theirs is only recorded under that lock); a trade id
-- recorded meanwhile for another order makes write_frame_effects raise, and the read is redone.
-- Internal; record_frames calls it. plpgsql for its cached plan (see frames_order_ids).
CREATE OR REPLACE FUNCTION lth_pvr.frames_held_trade_ids(p_frames jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- One probe of the unique index per trade id, whatever the statistics said when the plan was
    -- cached (a cached seq scan of a table that grew since would cost more with every fill).
    RETURN (SELECT coalesce(array_agg(held.trade_id), '{}')
              FROM jsonb_path_query(p_frames, 'lax $[*] ? (@.type == "NEW_ACCOUNT_TRADE").data.id') AS id(v)
                   CROSS JOIN LATERAL (SELECT f.trade_id FROM lth_pvr.order_fills f
                                        WHERE f.exchange = 'valr'  -- the fast path is VALR's only
                                          -- the unique key's middle column, named so the probe is
                                          -- on the whole key: without it the index scan reads every
                                          -- VALR fill and filters on trade_id (per read, O(history))
                                          AND f.id_scope = lth_pvr.trade_id_scope('valr', NULL)
                                          AND f.trade_id = left(id.v #>> '{}', 200)
                                        LIMIT 1) AS held
             WHERE jsonb_typeof(id.v) IN ('string', 'number'));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.frames_held_trade_ids(jsonb) FROM PUBLIC;
