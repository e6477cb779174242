-- Owns: the spec's metric 2, "Polling Frequency": REST polls per order submitted in the last
-- p_days. Read-only; v_polls_per_order is this over 7 days.
CREATE OR REPLACE FUNCTION lth_pvr.metric_polls_per_order(p_days int DEFAULT 7, p_now timestamptz DEFAULT now(),
                                                  p_exchange text DEFAULT NULL)
RETURNS TABLE (avg_polls_per_order numeric, max_polls int, never_polled bigint)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT round(avg(o.poll_count), 2),
           max(o.poll_count),
           count(*) FILTER (WHERE o.poll_count = 0)
      FROM lth_pvr.exchange_orders o
     WHERE o.submitted_at >= p_now - make_interval(days => p_days)
       AND o.submitted_at <= p_now
       AND (p_exchange IS NULL OR o.exchange = p_exchange)  -- one exchange's orders (NULL: every one)
$$;

REVOKE ALL ON FUNCTION lth_pvr.metric_polls_per_order(int, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.metric_polls_per_order(int, timestamptz, text) TO valr_reader;
