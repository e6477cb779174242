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
    RETURN (SELECT coalesce(array_agg(f.trade_id), '{}')
      FROM lth_pvr.order_fills f
     WHERE f.trade_id = ANY (
            SELECT left(lth_pvr.json_text(fr->'data'->'id'), 200)
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_frames) = 'array' THEN p_frames ELSE '[]' END) AS fr
             WHERE jsonb_typeof(fr) = 'object' AND fr->>'type' = 'NEW_ACCOUNT_TRADE'
               AND jsonb_typeof(fr->'data') = 'object'));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.frames_held_trade_ids(jsonb) FROM PUBLIC;
