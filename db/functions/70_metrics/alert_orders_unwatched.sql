-- Owns: the alert orders_unwatched, warning: submitted orders with no authenticated session on their account, no poll or
-- reconciliation due, for over unwatched_order_seconds since the account's last session closed (or
-- since submitted) — except after a max_session close, where the safety net is the design (Phase 1)
-- and safety_net_late covers it.
-- One row when it fires (name, level, measured, threshold, detail), as of p_now; lth_pvr.alerts()
-- unites every alert_*. SQL and not SECURITY DEFINER, so it is inlined into alerts()' plan.
CREATE OR REPLACE FUNCTION lth_pvr.alert_orders_unwatched(p_now timestamptz)
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
AS $$
    SELECT 'orders_unwatched'::text, 'warning'::text, round(x.oldest, 2), s.v,
           format('%s submitted order(s) with no watching session and no poll due: %s', x.n, left(x.ids, 400))
      FROM (SELECT (SELECT lth_pvr.setting('unwatched_order_seconds')) AS v) s,
           LATERAL (
               SELECT count(*) AS n,
                      max(extract(epoch FROM p_now - greatest(o.submitted_at, last.closed_at))) AS oldest,
                      string_agg(o.exchange_order_id::text, ', ' ORDER BY o.submitted_at) AS ids
                 FROM lth_pvr.exchange_orders o
                 LEFT JOIN LATERAL (
                     SELECT ws.closed_at, ws.close_reason
                       FROM lth_pvr.ws_sessions ws
                      WHERE ws.exchange_account_id = o.exchange_account_id AND ws.opened_at <= p_now
                      ORDER BY ws.opened_at DESC, ws.session_id DESC
                      LIMIT 1
                 ) last ON true
                WHERE o.status = 'submitted'
                  AND o.poll_due_at IS NULL
                  AND o.reconcile_due_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM lth_pvr.ws_sessions ws
                                   WHERE ws.exchange_account_id = o.exchange_account_id
                                     AND ws.authenticated_at IS NOT NULL AND ws.authenticated_at <= p_now
                                     AND (ws.closed_at IS NULL OR ws.closed_at > p_now))
                  AND last.close_reason IS DISTINCT FROM 'max_session'
                  AND greatest(o.submitted_at, last.closed_at) < p_now - make_interval(secs => s.v::int)) x
     WHERE x.n > 0
$$;

REVOKE ALL ON FUNCTION lth_pvr.alert_orders_unwatched(timestamptz) FROM PUBLIC;
