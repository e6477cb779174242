-- Owns: the safety net's selection — the spec's orders: status = 'submitted', requires_polling, not
-- polled within poll_recent_minutes (2). Written so the spec's partial index
-- idx_exchange_orders_requires_polling (requires_polling, last_polled_at) WHERE status = 'submitted'
-- serves it however long the history; an inlinable SQL function (STABLE, no SET, not SECURITY
-- DEFINER), so `EXPLAIN SELECT * FROM lth_pvr.safety_net_due()` shows the plan safety_net_tick runs.
CREATE OR REPLACE FUNCTION lth_pvr.safety_net_due(p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange_order_id uuid)
LANGUAGE sql STABLE
AS $$
    SELECT o.exchange_order_id
      FROM lth_pvr.exchange_orders o
     WHERE o.status = 'submitted'
       AND o.requires_polling
       AND (o.last_polled_at IS NULL
            OR o.last_polled_at < p_now - make_interval(mins => (
                   SELECT s.value::int FROM lth_pvr.settings s WHERE s.name = 'poll_recent_minutes')))
$$;

REVOKE ALL ON FUNCTION lth_pvr.safety_net_due(timestamptz) FROM PUBLIC;
