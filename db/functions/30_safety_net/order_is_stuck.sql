-- Owns: when a submitted order is stuck: it still needs the exchange's word (requires_polling) and
-- nobody has heard about it — no event or poll answer (exchange_confirmed_at), else since it was
-- submitted — for longer than p_threshold (the stuck_order_minutes setting). A resting limit order
-- is not stuck: the safety net re-confirms it every ten minutes. v_stuck_orders and the stuck_orders
-- alert read it. The threshold is the caller's: a view may not call setting() for its reader.
-- SQL and STABLE (timestamptz - interval is), so it is inlined.
CREATE OR REPLACE FUNCTION lth_pvr.order_is_stuck(
    p_status text, p_requires_polling boolean, p_exchange_confirmed_at timestamptz, p_submitted_at timestamptz,
    p_threshold interval, p_now timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT p_status = 'submitted' AND p_requires_polling
           AND coalesce(p_exchange_confirmed_at, p_submitted_at) < p_now - p_threshold
$$;

REVOKE ALL ON FUNCTION lth_pvr.order_is_stuck(text, boolean, timestamptz, timestamptz, interval, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.order_is_stuck(text, boolean, timestamptz, timestamptz, interval, timestamptz)
    TO valr_reader;
