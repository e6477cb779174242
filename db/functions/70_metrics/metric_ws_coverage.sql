-- Owns: the spec's metric 1, "WebSocket Success Rate": orders submitted in the last p_days (up to
-- p_now) that a WebSocket session watched. Unlike the spec's query, 0 orders gives a NULL
-- percentage, not `division by zero`. Read-only; v_ws_coverage is this over 7 days.
CREATE OR REPLACE FUNCTION lth_pvr.metric_ws_coverage(p_days int DEFAULT 7, p_now timestamptz DEFAULT now(),
                                                  p_exchange text DEFAULT NULL)
RETURNS TABLE (ws_monitored bigint, total_orders bigint, ws_coverage_pct numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT count(*) FILTER (WHERE o.ws_monitored_at IS NOT NULL),
           count(*),
           round(100.0 * count(*) FILTER (WHERE o.ws_monitored_at IS NOT NULL) / NULLIF(count(*), 0), 2)
      FROM lth_pvr.exchange_orders o
     WHERE o.submitted_at >= p_now - make_interval(days => p_days)
       AND o.submitted_at <= p_now
       AND (p_exchange IS NULL OR o.exchange = p_exchange)  -- one exchange's orders (NULL: every one)
$$;

REVOKE ALL ON FUNCTION lth_pvr.metric_ws_coverage(int, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.metric_ws_coverage(int, timestamptz, text) TO valr_reader;
