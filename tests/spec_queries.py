"""The original design's SQL (the specification this project was built to), copied verbatim: people
paste it into psql, so it must keep running against our schema. Only 'test-uuid' is a placeholder
(docs/design.md, "How this differs from the original design", item 5)."""

SCHEMA_CHECK = """SELECT column_name, data_type
FROM information_schema.columns
WHERE table_name = 'exchange_orders'
  AND column_name IN ('ws_monitored_at', 'last_polled_at', 'poll_count', 'requires_polling');"""

CRON_CHECK = """SELECT jobid, jobname, schedule, active
FROM cron.job
WHERE jobname LIKE '%poll_orders%';"""

CRON_SCHEDULE_CHECK = """SELECT schedule FROM cron.job WHERE jobname LIKE '%poll_orders%';"""

SAFETY_NET = """SELECT * FROM exchange_orders
WHERE status = 'submitted'
  AND (last_polled_at IS NULL OR last_polled_at < NOW() - INTERVAL '2 minutes')"""

MANUAL_PLACEMENT_CHECK = """SELECT exchange_order_id, status, ws_monitored_at, last_polled_at, poll_count
FROM lth_pvr.exchange_orders
WHERE intent_id = 'test-uuid'
ORDER BY submitted_at DESC
LIMIT 5;"""

POLLING_FALLBACK_CHECK = """SELECT exchange_order_id, status, last_polled_at, poll_count
FROM lth_pvr.exchange_orders
WHERE poll_count > 0
ORDER BY last_polled_at DESC
LIMIT 5;"""

WS_SUCCESS_RATE = """SELECT 
  COUNT(*) FILTER (WHERE ws_monitored_at IS NOT NULL) as ws_monitored,
  COUNT(*) as total_orders,
  ROUND(100.0 * COUNT(*) FILTER (WHERE ws_monitored_at IS NOT NULL) / COUNT(*), 2) as ws_coverage_pct
FROM lth_pvr.exchange_orders
WHERE submitted_at >= CURRENT_DATE - INTERVAL '7 days';"""

POLLING_FREQUENCY = """SELECT 
  AVG(poll_count) as avg_polls_per_order,
  MAX(poll_count) as max_polls,
  COUNT(*) FILTER (WHERE poll_count = 0) as never_polled
FROM lth_pvr.exchange_orders
WHERE submitted_at >= CURRENT_DATE - INTERVAL '7 days';"""

COMPLETION_TIME = """SELECT 
  AVG(EXTRACT(EPOCH FROM (updated_at - submitted_at))) / 60 as avg_minutes,
  MIN(EXTRACT(EPOCH FROM (updated_at - submitted_at))) / 60 as min_minutes,
  MAX(EXTRACT(EPOCH FROM (updated_at - submitted_at))) / 60 as max_minutes
FROM lth_pvr.exchange_orders
WHERE status IN ('filled', 'cancelled')
  AND submitted_at >= CURRENT_DATE - INTERVAL '7 days';"""

UPDATE_METHOD = """SELECT 
  CASE 
    WHEN ws_monitored_at < last_polled_at THEN 'websocket_first'
    WHEN last_polled_at < ws_monitored_at THEN 'polling_first'
    WHEN ws_monitored_at IS NOT NULL AND last_polled_at IS NULL THEN 'websocket_only'
    WHEN ws_monitored_at IS NULL AND last_polled_at IS NOT NULL THEN 'polling_only'
    ELSE 'unknown'
  END as update_method,
  COUNT(*) as order_count
FROM lth_pvr.exchange_orders
WHERE status IN ('filled', 'cancelled')
  AND submitted_at >= CURRENT_DATE - INTERVAL '7 days'
GROUP BY 1;"""

CUSTOMER_ORDER_ID_CHECK = """SELECT intent_id, ext_order_id, raw->'valr'->>'customerOrderId' as valr_customer_id
FROM lth_pvr.exchange_orders
WHERE ws_monitored_at IS NOT NULL
ORDER BY submitted_at DESC
LIMIT 5;"""
