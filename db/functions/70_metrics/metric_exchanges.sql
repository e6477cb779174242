-- Owns: the spec's metrics per exchange (each exchange with an account): the orders submitted in the
-- last p_days on it, how many a WebSocket session watched (metric_ws_coverage), REST polls per order
-- (metric_polls_per_order) and completion time (metric_completion_time), each by its own function
-- with the exchange given: one rule per metric, here only put side by side. Read-only;
-- v_exchange_metrics is this over 7 days.
CREATE OR REPLACE FUNCTION lth_pvr.metric_exchanges(p_days int DEFAULT 7, p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange text, total_orders bigint, ws_monitored bigint, ws_coverage_pct numeric,
               avg_polls_per_order numeric, never_polled bigint, avg_minutes numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT e.exchange, c.total_orders, c.ws_monitored, c.ws_coverage_pct, p.avg_polls_per_order, p.never_polled,
           t.avg_minutes
      FROM (SELECT DISTINCT a.exchange FROM lth_pvr.exchange_accounts a) e,
           LATERAL lth_pvr.metric_ws_coverage(p_days, p_now, e.exchange) c,
           LATERAL lth_pvr.metric_polls_per_order(p_days, p_now, e.exchange) p,
           LATERAL lth_pvr.metric_completion_time(p_days, p_now, e.exchange) t
     ORDER BY e.exchange
$$;

REVOKE ALL ON FUNCTION lth_pvr.metric_exchanges(int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.metric_exchanges(int, timestamptz) TO valr_reader;
