-- Owns: the orderIds a WebSocket read names — in each frame's data object, and in each item of a
-- data array (an open-orders list) — so record_frames locks those orders in one statement.
-- Internal; record_frames calls it.
-- plpgsql, not SQL: PostgreSQL 15 plans a non-inlinable SQL function's query again on every call,
-- while plpgsql keeps the plan for the session; this runs once per WebSocket read.
CREATE OR REPLACE FUNCTION lth_pvr.frames_order_ids(p_frames jsonb)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT id) FILTER (WHERE id IS NOT NULL), '{}')
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_frames) = 'array' THEN p_frames ELSE '[]' END) AS f,
           LATERAL (SELECT lth_pvr.json_text(f->'data'->'orderId') AS id
                     WHERE jsonb_typeof(f->'data') = 'object'
                    UNION ALL
                    SELECT lth_pvr.json_text(item->'orderId')
                      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(f->'data') = 'array'
                                                     THEN f->'data' ELSE '[]' END) AS item
                     WHERE jsonb_typeof(item) = 'object') AS named
     WHERE jsonb_typeof(f) = 'object');
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.frames_order_ids(jsonb) FROM PUBLIC;
