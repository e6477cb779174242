-- Owns: the question the spec's metric 4 meant to answer: which source (ws / poll / placement /
-- operator) first delivered each terminal order's final status — the event-log row that applied
-- it. `unknown` when that row was pruned. Orders submitted (or, never submitted, created) in the
-- last p_days. Read-only; v_final_status_source is this over 7 days.
CREATE OR REPLACE FUNCTION lth_pvr.metric_final_status_source(p_days int DEFAULT 7, p_now timestamptz DEFAULT now())
RETURNS TABLE (source text, order_count bigint, pct numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    SELECT coalesce(x.source, 'unknown'),
           count(*),
           round(100.0 * count(*) / sum(count(*)) OVER (), 2)
      FROM lth_pvr.exchange_orders o
      LEFT JOIN LATERAL (
          SELECT e.source
            FROM lth_pvr.order_events e
           WHERE e.exchange_order_id = o.exchange_order_id
             AND e.new_status = o.status
             AND e.outcome IN ('applied', 'lost_placement', 'cancelled_before_placement')
           ORDER BY e.event_id
           LIMIT 1
      ) x ON true
     WHERE lth_pvr.is_final(o.status)
       AND coalesce(o.submitted_at, o.created_at) >= p_now - make_interval(days => p_days)
       AND coalesce(o.submitted_at, o.created_at) <= p_now
     GROUP BY 1
     ORDER BY 2 DESC, 1
$$;

REVOKE ALL ON FUNCTION lth_pvr.metric_final_status_source(int, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.metric_final_status_source(int, timestamptz) TO valr_reader;
