-- Owns: the spec's metric 4, "WebSocket vs Polling Updates", with the spec's CASE kept for
-- compatibility: it compares when monitoring STARTED with the last poll, not which source delivered
-- the update first — metric_final_status_source answers that from the event log.
-- Read-only; v_update_method is this over 7 days.
CREATE OR REPLACE FUNCTION lth_pvr.metric_update_method(p_days int DEFAULT 7, p_now timestamptz DEFAULT now())
RETURNS TABLE (update_method text, order_count bigint)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT CASE
               WHEN o.ws_monitored_at < o.last_polled_at THEN 'websocket_first'
               WHEN o.last_polled_at < o.ws_monitored_at THEN 'polling_first'
               WHEN o.ws_monitored_at IS NOT NULL AND o.last_polled_at IS NULL THEN 'websocket_only'
               WHEN o.ws_monitored_at IS NULL AND o.last_polled_at IS NOT NULL THEN 'polling_only'
               ELSE 'unknown'
           END AS update_method,
           count(*) AS order_count
      FROM lth_pvr.exchange_orders o
     WHERE o.status IN ('filled', 'cancelled')
       AND o.submitted_at >= p_now - make_interval(days => p_days)
       AND o.submitted_at <= p_now
     GROUP BY 1
     ORDER BY 2 DESC, 1
$$;

REVOKE ALL ON FUNCTION lth_pvr.metric_update_method(int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.metric_update_method(int, timestamptz) TO valr_reader;
