-- Owns: the spec's metric 3, "Order Completion Time": minutes from submission to the last status
-- or fill change (updated_at) of filled/cancelled orders submitted in the last p_days.
-- Read-only; v_completion_time is this over 7 days.
CREATE OR REPLACE FUNCTION lth_pvr.metric_completion_time(p_days int DEFAULT 7, p_now timestamptz DEFAULT now(),
                                                  p_exchange text DEFAULT NULL)
RETURNS TABLE (avg_minutes numeric, min_minutes numeric, max_minutes numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT round(avg(extract(epoch FROM o.updated_at - o.submitted_at)) / 60, 2),
           round(min(extract(epoch FROM o.updated_at - o.submitted_at)) / 60, 2),
           round(max(extract(epoch FROM o.updated_at - o.submitted_at)) / 60, 2)
      FROM lth_pvr.exchange_orders o
     WHERE o.status IN ('filled', 'cancelled')
       AND o.submitted_at >= p_now - make_interval(days => p_days)
       AND o.submitted_at <= p_now
       AND (p_exchange IS NULL OR o.exchange = p_exchange)  -- one exchange's orders (NULL: every one)
$$;

REVOKE ALL ON FUNCTION lth_pvr.metric_completion_time(int, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.metric_completion_time(int, timestamptz, text) TO valr_reader;
