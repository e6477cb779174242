-- Owns: when an order counts as watched by the account WebSocket (ws_monitored_at, the spec's
-- coverage metric): from the first word the socket gave about it — an applied or unchanged status,
-- an open-orders item, a fill — whatever its status (session_authenticated also stamps the open
-- orders of an account whose socket authenticated). A REST answer never makes an order watched.
-- Internal; apply_order_payload, record_fill, order_after_unchanged and order_after_fill use it.
-- SQL and IMMUTABLE so it is inlined into their statements.
CREATE OR REPLACE FUNCTION lth_pvr.ws_monitored_after(
    p_ws_monitored_at timestamptz,
    p_source text,
    p_now timestamptz
)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN p_source = 'ws' THEN coalesce(p_ws_monitored_at, p_now) ELSE p_ws_monitored_at END
$$;

REVOKE ALL ON FUNCTION lth_pvr.ws_monitored_after(timestamptz, text, timestamptz) FROM PUBLIC;
