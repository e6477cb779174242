-- Owns: the orderIds a WebSocket read names — in each frame's data object, and in each item of a
-- data array (an open-orders list) — so record_frames locks those orders in one statement.
-- Internal; record_frames calls it.
-- In lax mode `.data.orderId` also reaches into a data array's items. plpgsql, not SQL: PostgreSQL
-- 15 plans a non-inlinable SQL function's query again on every call, while plpgsql keeps the plan
-- for the session; this runs once per WebSocket read.
CREATE OR REPLACE FUNCTION lth_pvr.frames_order_ids(p_frames jsonb)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT id.v #>> '{}'), '{}')
              FROM jsonb_path_query(p_frames, 'lax $[*].data.orderId') AS id(v)
             WHERE jsonb_typeof(id.v) IN ('string', 'number'));
END
$$;

REVOKE ALL ON FUNCTION lth_pvr.frames_order_ids(jsonb) FROM PUBLIC;
