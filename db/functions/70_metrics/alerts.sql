-- Owns: the spec's "Alert Thresholds", each value read from lth_pvr.settings, as of p_now (tests
-- and benchmarks pass a simulated clock; v_alerts is this at now()). One row per alert that fires:
-- name, level, measured value, threshold, detail. The spec's comparisons are strict (< 80 %, > 10,
-- older than 1 h, > 200, > 10 %): a value exactly at its threshold does not fire.
--   critical ws_coverage          7-day WebSocket coverage % below ws_coverage_min_pct (orders > 0)
--   critical avg_polls_per_order  7-day average polls per order above avg_polls_per_order_max
--   critical stuck_orders         submitted, requires_polling, not confirmed by the exchange (event
--                                 or poll; else since submitted_at) for over stuck_order_minutes
--   warning  polls_per_day        REST polls (record_poll calls) in the last 24 h above polls_per_day_max
--   warning  ws_failures          sessions closed with an error / sessions opened, last 24 h, above
--                                 ws_failure_pct_max %
--   critical pending_unplaced     pending orders older than pending_unplaced_minutes
--   critical placing_unresolved   placing orders claimed over placing_unresolved_minutes ago
--   critical no_live_worker       no worker alive: none seen within worker_heartbeat_seconds, or every
--                                 worker stopped (measured: live workers; threshold: at least 1)
--   warning  stale_workers        workers neither stopped nor seen within worker_heartbeat_seconds
--   critical overfilled_orders    orders whose fills exceed their quantity
--   critical revived_orders       orders we had made failed by inference (VALR did not know them after
--                                 the placement grace) that VALR later showed: back under VALR's word,
--                                 last 24 h — a person checks why the placement was held so long
--   critical illegal_from_failed  VALR reported a change of an order recorded failed that could not be
--                                 applied (illegal_transition out of failed), last 24 h
--   critical clock_skew           live workers whose signed requests VALR refused and whose clock is off
--                                 VALR's (record_clock_check): they place nothing until it is fixed
--   critical cancel_unconfirmed   cancels requested over cancel_unconfirmed_minutes ago whose order
--                                 VALR has not finished (still placing/submitted)
--   warning  fallback_not_replaced limit orders whose fallback placed no replacement (remainder below
--                                 the pair's minimum, not stated by VALR, or refused by the pair's
--                                 rules), finished within fallback_alert_hours
--   critical replacement_failed   a fallback's market replacement failed (refused by VALR or its placement
--                                 lost) within fallback_alert_hours: the remainder was not placed; the
--                                 detail names each intent and place_intent_remainder (an order that
--                                 has been followed by another — place_intent_remainder's — is left out,
--                                 here and in market_slippage)
--   critical market_slippage      market orders VALR ended cancelled before executing all of them
--                                 (market_order_cut_short: "Partially Filled and Cancelled Due To
--                                 Slippage", a plain "Cancelled" after a partial fill, …; not a cancel a
--                                 person asked for) within fallback_alert_hours: a person decides the
--                                 rest (place_intent_remainder)
--   critical placements_failing   placements VALR refused (placing -> failed) in the last hour above
--                                 placement_failures_per_hour_max
--   critical auth_refused         a live worker whose API key VALR refused (it places nothing until
--                                 the key is accepted again)
--   critical safety_net_late      no safety-net tick (safety_net_runs, written by the tick itself, so
--                                 it works wherever pg_cron lives) within 2 x safety_net_tick_minutes;
--                                 never ticked: counted from the first migration
--   warning  orders_unwatched     submitted orders with no authenticated session on their account, no
--                                 poll or reconciliation due, for over unwatched_order_seconds since
--                                 the account's last session closed (or since submitted) — except
--                                 after a max_session close, where the safety net is the design
--                                 (Phase 1) and safety_net_late covers it
--   critical intent_over_executed intents whose orders together executed more than the intent asked
--                                 (intent_executed_qty > intent_asked_qty: an order placed elsewhere,
--                                 VALR executing more than an order's qty); checked on the sum, not per
--                                 order, for intents of several orders or of one overfilled order
--   critical prices_stale         submitted orders with a live price fallback whose pair has had no price
--                                 received (trade socket or REST) for over price_stale_alert_seconds
--                                 since VALR accepted them: their price trigger is blind
--   critical pg_cron_stopped      pg_cron's launcher is not running (pg_cron_state): said at once, whatever
--                                 the last tick's age (not loaded, extension not created, no worker free)
--   warning  worker_task_failed   a live worker's long-lived task failed unexpectedly (and was restarted)
--                                 within task_failure_alert_minutes: read the traceback in its log
--   critical safety_net_job_missing  pg_cron runs but this database's safety-net job is missing from
--                                 cron.job or inactive (seen only where pg_cron lives in this database)
-- Each alert is one CTE and one UNION ALL branch below (a setting in `s` when it has a threshold):
-- add new ones the same way, at the end.
CREATE OR REPLACE FUNCTION lth_pvr.alerts(p_now timestamptz DEFAULT now())
RETURNS TABLE (name text, level text, measured numeric, threshold numeric, detail text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = lth_pvr, pg_temp
AS $$
    WITH s AS (
        SELECT max(value) FILTER (WHERE name = 'ws_coverage_min_pct')        AS ws_coverage_min_pct,
               max(value) FILTER (WHERE name = 'avg_polls_per_order_max')    AS avg_polls_per_order_max,
               max(value) FILTER (WHERE name = 'stuck_order_minutes')        AS stuck_order_minutes,
               max(value) FILTER (WHERE name = 'polls_per_day_max')          AS polls_per_day_max,
               max(value) FILTER (WHERE name = 'ws_failure_pct_max')         AS ws_failure_pct_max,
               max(value) FILTER (WHERE name = 'pending_unplaced_minutes')   AS pending_unplaced_minutes,
               max(value) FILTER (WHERE name = 'placing_unresolved_minutes') AS placing_unresolved_minutes,
               max(value) FILTER (WHERE name = 'worker_heartbeat_seconds')   AS worker_heartbeat_seconds,
               max(value) FILTER (WHERE name = 'placement_failures_per_hour_max') AS placement_failures_per_hour_max,
               max(value) FILTER (WHERE name = 'safety_net_tick_minutes')    AS safety_net_tick_minutes,
               max(value) FILTER (WHERE name = 'unwatched_order_seconds')    AS unwatched_order_seconds,
               max(value) FILTER (WHERE name = 'task_failure_alert_minutes') AS task_failure_alert_minutes
          FROM lth_pvr.settings
    ),
    cov AS (SELECT * FROM lth_pvr.metric_ws_coverage(7, p_now)),
    polls AS (SELECT * FROM lth_pvr.metric_polls_per_order(7, p_now)),
    stuck AS (
        SELECT count(*) AS n,
               max(extract(epoch FROM p_now - coalesce(o.exchange_confirmed_at, o.submitted_at)) / 60) AS oldest,
               string_agg(o.exchange_order_id::text, ', ' ORDER BY coalesce(o.exchange_confirmed_at, o.submitted_at)) AS ids
          FROM lth_pvr.exchange_orders o, s
         WHERE o.status = 'submitted'
           AND o.requires_polling
           AND coalesce(o.exchange_confirmed_at, o.submitted_at) < p_now - make_interval(mins => s.stuck_order_minutes::int)
    ),
    polls_24h AS (
        SELECT count(*) AS n
          FROM lth_pvr.order_events e
         WHERE e.kind = 'poll' AND e.received_at > p_now - interval '24 hours' AND e.received_at <= p_now
    ),
    sessions AS (
        SELECT count(*) FILTER (WHERE ws.opened_at > p_now - interval '24 hours' AND ws.opened_at <= p_now) AS opened,
               count(*) FILTER (WHERE ws.closed_with_error
                                  AND ws.closed_at > p_now - interval '24 hours' AND ws.closed_at <= p_now) AS failed
          FROM lth_pvr.ws_sessions ws
         WHERE ws.opened_at > p_now - interval '24 hours' OR ws.closed_at > p_now - interval '24 hours'
    ),
    pending_orders AS (
        SELECT count(*) AS n, max(extract(epoch FROM p_now - o.created_at) / 60) AS oldest
          FROM lth_pvr.exchange_orders o, s
         WHERE o.status = 'pending'
           AND o.created_at < p_now - make_interval(mins => s.pending_unplaced_minutes::int)
    ),
    placing_orders AS (
        SELECT count(*) AS n, max(extract(epoch FROM p_now - o.claimed_at) / 60) AS oldest,
               string_agg(DISTINCT o.claimed_by, ', ') AS workers
          FROM lth_pvr.exchange_orders o, s
         WHERE o.status = 'placing'
           AND o.claimed_at < p_now - make_interval(mins => s.placing_unresolved_minutes::int)
    ),
    workers AS (
        SELECT count(*) FILTER (WHERE w.stopped_at IS NULL AND w.last_seen_at >= p_now - s.heartbeat) AS live,
               count(*) FILTER (WHERE w.stopped_at IS NULL AND w.last_seen_at < p_now - s.heartbeat) AS stale,
               string_agg(w.worker_id, ', ' ORDER BY w.worker_id)
                   FILTER (WHERE w.stopped_at IS NULL AND w.last_seen_at < p_now - s.heartbeat) AS stale_ids,
               count(*) FILTER (WHERE w.stopped_at IS NULL AND w.last_seen_at >= p_now - s.heartbeat
                                  AND w.auth_refused_at IS NOT NULL) AS auth_refused,
               string_agg(w.worker_id || ': ' || coalesce(w.auth_refused_reason, '?'), '; ' ORDER BY w.worker_id)
                   FILTER (WHERE w.stopped_at IS NULL AND w.last_seen_at >= p_now - s.heartbeat
                             AND w.auth_refused_at IS NOT NULL) AS auth_refused_detail,
               count(*) FILTER (WHERE w.stopped_at IS NOT NULL) AS stopped,
               extract(epoch FROM p_now - max(w.last_seen_at)) AS since_last
          FROM lth_pvr.workers w,
               (SELECT make_interval(secs => s.worker_heartbeat_seconds::int) AS heartbeat FROM s) AS s
    ),
    overfilled AS (
        SELECT count(*) AS n, string_agg(o.exchange_order_id::text, ', ' ORDER BY o.exchange_order_id) AS ids
          FROM lth_pvr.exchange_orders o
         WHERE o.filled_qty > coalesce(o.original_qty, o.qty)
    ),
    revived AS (
        SELECT count(*) AS n, string_agg(o.exchange_order_id::text, ', ' ORDER BY o.revived_at) AS ids
          FROM lth_pvr.exchange_orders o
         WHERE o.revived_at > p_now - interval '24 hours' AND o.revived_at <= p_now
    ),
    from_failed AS (
        SELECT count(*) AS n, count(DISTINCT e.exchange_order_id) AS orders,
               string_agg(DISTINCT e.exchange_order_id::text, ', ') AS ids
          FROM lth_pvr.order_events e
         WHERE e.outcome = 'illegal_transition' AND e.old_status = 'failed'
           AND e.received_at > p_now - interval '24 hours' AND e.received_at <= p_now
    ),
    skewed AS (
        SELECT count(*) AS n,
               string_agg(format('%s %s s', w.worker_id, round(w.clock_skew_s, 1)), ', ' ORDER BY w.worker_id) AS workers,
               max(abs(w.clock_skew_s)) AS worst
          FROM lth_pvr.workers w, s
         WHERE w.clock_refused_at IS NOT NULL AND w.stopped_at IS NULL
           AND w.last_seen_at >= p_now - make_interval(secs => s.worker_heartbeat_seconds::int)
    ),
    cancels AS (
        SELECT count(*) AS n, max(extract(epoch FROM p_now - o.cancel_requested_at) / 60) AS oldest,
               sum(o.cancel_attempts) AS attempts,
               string_agg(o.exchange_order_id::text, ', ' ORDER BY o.cancel_requested_at) AS ids
          FROM lth_pvr.exchange_orders o
         WHERE o.cancel_requested_at IS NOT NULL
           AND o.status IN ('placing', 'submitted')
           AND o.cancel_requested_at < p_now - make_interval(secs => lth_pvr.setting('cancel_unconfirmed_minutes') * 60)
    ),
    recent_finished AS (
        SELECT o.*
          FROM lth_pvr.exchange_orders o
         WHERE o.finished_at > p_now - make_interval(secs => lth_pvr.setting('fallback_alert_hours') * 3600)
           AND o.finished_at <= p_now
           AND o.status IN ('filled', 'cancelled')
    ),
    not_replaced AS (
        SELECT count(*) AS n,
               string_agg(format('%s (%s)', o.exchange_order_id, o.fallback_outcome), ', '
                          ORDER BY o.finished_at) AS ids
          FROM recent_finished o
         WHERE o.fallback_outcome IN ('below_minimum', 'remainder_unknown', 'refused')
    ),
    -- A fallback's market order that failed (refused by VALR, or its placement lost): the remainder
    -- the fallback set out to buy or sell was not, and nothing retries a failed placement — until a
    -- person places it (place_intent_remainder: its order replaces this one, which leaves the alert).
    replacement_failed AS (
        SELECT count(*) AS n,
               string_agg(format('%s of intent %s (%s)', o.exchange_order_id, o.intent_id,
                                 coalesce(o.failed_reason, 'no reason')), ', ' ORDER BY o.finished_at) AS ids
          FROM lth_pvr.exchange_orders o
         WHERE o.replaces_order_id IS NOT NULL
           AND o.status = 'failed'
           AND NOT EXISTS (SELECT 1 FROM lth_pvr.exchange_orders r WHERE r.replaces_order_id = o.exchange_order_id)
           AND o.finished_at > p_now - make_interval(secs => lth_pvr.setting('fallback_alert_hours') * 3600)
           AND o.finished_at <= p_now
    ),
    slipped AS (
        SELECT count(*) AS n,
               string_agg(format('%s of intent %s (%s: %s of %s executed)', o.exchange_order_id, o.intent_id,
                                 coalesce(o.raw -> 'valr' ->> 'orderStatusType', o.status),
                                 trim_scale(lth_pvr.order_executed_qty(o)), trim_scale(o.qty)), ', '
                          ORDER BY o.finished_at) AS ids
          FROM recent_finished o
         WHERE o.order_type = 'market' AND lth_pvr.market_order_cut_short(o)
           AND NOT EXISTS (SELECT 1 FROM lth_pvr.exchange_orders r WHERE r.replaces_order_id = o.exchange_order_id)
    ),
    -- The intent invariant refuses what we insert; what VALR executed anyway (an order placed
    -- elsewhere, more than an order's qty) is summed here. Only intents of several orders, or of one
    -- order that executed more than its qty, can exceed what they asked: the rest are not summed.
    -- (MATERIALIZED: else the sums' condition is pushed below the grouping, onto every order.)
    intents_to_sum AS MATERIALIZED (
        SELECT m.intent_id
          FROM lth_pvr.exchange_orders m
         GROUP BY m.intent_id
        HAVING count(*) > 1 OR bool_or(m.filled_qty > m.qty OR m.original_qty <> m.qty)
    ),
    over_executed AS (
        SELECT count(*) AS n,
               string_agg(format('%s (asked %s, executed %s)', c.intent_id, coalesce(c.asked::text, '?'),
                                 c.executed), ', ' ORDER BY c.intent_id) AS ids
          FROM (SELECT i.intent_id, lth_pvr.intent_asked_qty(i.intent_id) AS asked,
                       lth_pvr.intent_executed_qty(i.intent_id) AS executed
                  FROM intents_to_sum i) c
         WHERE c.executed > coalesce(c.asked, 0)
    ),
    placement_failures AS (
        SELECT count(*) AS n
          FROM lth_pvr.order_events e
         WHERE e.old_status = 'placing' AND e.new_status = 'failed' AND e.outcome = 'applied'
           AND e.received_at > p_now - interval '1 hour' AND e.received_at <= p_now
    ),
    safety_net AS (
        SELECT coalesce((SELECT max(r.ran_at) FROM lth_pvr.safety_net_runs r WHERE r.ran_at <= p_now),
                        (SELECT min(m.applied_at) FROM lth_pvr.schema_migrations m)) AS since,
               EXISTS (SELECT 1 FROM lth_pvr.safety_net_runs r WHERE r.ran_at <= p_now) AS ever
    ),
    cron AS (SELECT * FROM lth_pvr.pg_cron_state()),
    unwatched AS (
        SELECT count(*) AS n,
               max(extract(epoch FROM p_now - greatest(o.submitted_at, last.closed_at))) AS oldest,
               string_agg(o.exchange_order_id::text, ', ' ORDER BY o.submitted_at) AS ids
          FROM lth_pvr.exchange_orders o
          CROSS JOIN s
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
           AND greatest(o.submitted_at, last.closed_at)
               < p_now - make_interval(secs => s.unwatched_order_seconds::int)
    ),
    -- The price trigger's blindness (issue 21): per pair, the last price received by any path.
    prices_stale AS (
        SELECT count(*) AS n,
               max(extract(epoch FROM p_now - greatest(o.submitted_at, m.received_at))) AS oldest,
               string_agg(DISTINCT o.pair, ', ') AS pairs
          FROM lth_pvr.exchange_orders o
          LEFT JOIN lth_pvr.market_prices m ON m.pair = o.pair
         WHERE o.status = 'submitted'
           AND o.fallback_price_move IS NOT NULL
           AND o.fallback_requested_at IS NULL
           AND o.cancel_requested_at IS NULL
           AND greatest(o.submitted_at, m.received_at)
               < p_now - make_interval(secs => lth_pvr.setting('price_stale_alert_seconds'))
    )
    SELECT 'ws_coverage', 'critical', cov.ws_coverage_pct, s.ws_coverage_min_pct,
           format('WebSocket setup failing: %s of %s orders submitted in 7 days were watched by a WebSocket',
                  cov.ws_monitored, cov.total_orders)
      FROM cov, s WHERE cov.ws_coverage_pct < s.ws_coverage_min_pct
    UNION ALL
    SELECT 'avg_polls_per_order', 'critical', polls.avg_polls_per_order, s.avg_polls_per_order_max,
           format('WebSocket not working, falling back to excessive polling (max %s polls on one order)', polls.max_polls)
      FROM polls, s WHERE polls.avg_polls_per_order > s.avg_polls_per_order_max
    UNION ALL
    SELECT 'stuck_orders', 'critical', round(stuck.oldest, 2), s.stuck_order_minutes,
           format('%s submitted order(s) not confirmed by the exchange for over %s minutes: %s',
                  stuck.n, s.stuck_order_minutes, left(stuck.ids, 400))
      FROM stuck, s WHERE stuck.n > 0
    UNION ALL
    SELECT 'polls_per_day', 'warning', polls_24h.n, s.polls_per_day_max,
           'possible WebSocket issues: REST polls in the last 24 hours above 2x the expected'
      FROM polls_24h, s WHERE polls_24h.n > s.polls_per_day_max
    UNION ALL
    SELECT 'ws_failures', 'warning',
           round(CASE WHEN sessions.opened > 0 THEN 100.0 * sessions.failed / sessions.opened ELSE 100 END, 2),
           s.ws_failure_pct_max,
           format('connection instability: %s of %s WebSocket sessions in 24 hours closed with an error',
                  sessions.failed, sessions.opened)
      FROM sessions, s
     WHERE sessions.failed > 0
       AND (sessions.opened = 0 OR 100.0 * sessions.failed / sessions.opened > s.ws_failure_pct_max)
    UNION ALL
    SELECT 'pending_unplaced', 'critical', round(pending_orders.oldest, 2), s.pending_unplaced_minutes,
           format('%s pending order(s) not placed within %s minutes', pending_orders.n, s.pending_unplaced_minutes)
      FROM pending_orders, s WHERE pending_orders.n > 0
    UNION ALL
    SELECT 'placing_unresolved', 'critical', round(placing_orders.oldest, 2), s.placing_unresolved_minutes,
           format('%s order(s) placing for over %s minutes, outcome unknown (claimed by %s)',
                  placing_orders.n, s.placing_unresolved_minutes, placing_orders.workers)
      FROM placing_orders, s WHERE placing_orders.n > 0
    UNION ALL
    SELECT 'no_live_worker', 'critical', workers.live, 1,
           CASE WHEN workers.since_last IS NULL THEN 'no worker has ever reported a heartbeat'
                WHEN workers.stale = 0 AND workers.stopped > 0
                    THEN format('every worker stopped; the last heartbeat was %s seconds ago', round(workers.since_last))
                ELSE format('no worker heartbeat for %s seconds (limit %s)', round(workers.since_last),
                            s.worker_heartbeat_seconds) END
      FROM workers, s WHERE workers.live = 0
    UNION ALL
    SELECT 'stale_workers', 'warning', workers.stale, s.worker_heartbeat_seconds,
           format('worker(s) not stopped but silent for over %s seconds: %s', s.worker_heartbeat_seconds,
                  left(workers.stale_ids, 400))
      FROM workers, s WHERE workers.stale > 0
    UNION ALL
    SELECT 'overfilled_orders', 'critical', overfilled.n, 0,
           format('fills exceed the order quantity: %s', left(overfilled.ids, 400))
      FROM overfilled WHERE overfilled.n > 0
    UNION ALL
    SELECT 'revived_orders', 'critical', revived.n, 0,
           format('%s order(s) recorded failed (VALR did not know them after the placement grace) are live on '
                  'VALR and came back under its word: %s', revived.n, left(revived.ids, 400))
      FROM revived WHERE revived.n > 0
    UNION ALL
    SELECT 'illegal_from_failed', 'critical', from_failed.n, 0,
           format('VALR reported %s change(s) of %s order(s) recorded failed that were refused as illegal '
                  'transitions: %s', from_failed.n, from_failed.orders, left(from_failed.ids, 400))
      FROM from_failed WHERE from_failed.n > 0
    UNION ALL
    SELECT 'clock_skew', 'critical', round(skewed.worst, 1), NULL::numeric,
           format('clock skew: VALR refuses the signed requests of %s worker(s) whose clock is off VALR''s '
                  '(%s); they place nothing until the clock is fixed (NTP); orders stay pending',
                  skewed.n, left(skewed.workers, 400))
      FROM skewed WHERE skewed.n > 0
    UNION ALL
    SELECT 'cancel_unconfirmed', 'critical', round(cancels.oldest, 2), lth_pvr.setting('cancel_unconfirmed_minutes'),
           format('%s requested cancel(s) not confirmed by VALR for over %s minutes (%s attempts so far): %s',
                  cancels.n, lth_pvr.setting('cancel_unconfirmed_minutes'), cancels.attempts, left(cancels.ids, 400))
      FROM cancels WHERE cancels.n > 0
    UNION ALL
    SELECT 'fallback_not_replaced', 'warning', not_replaced.n, 0,
           format('%s limit order(s) cancelled by their fallback without a market replacement: %s',
                  not_replaced.n, left(not_replaced.ids, 400))
      FROM not_replaced WHERE not_replaced.n > 0
    UNION ALL
    SELECT 'replacement_failed', 'critical', replacement_failed.n, 0,
           format('%s market replacement(s) of a fallback failed, the remainder not placed: %s; to place what '
                  'an intent still lacks (sized by the database): SELECT lth_pvr.place_intent_remainder(''<intent>'')',
                  replacement_failed.n, left(replacement_failed.ids, 400))
      FROM replacement_failed WHERE replacement_failed.n > 0
    UNION ALL
    SELECT 'market_slippage', 'critical', slipped.n, 0,
           format('%s market order(s) ended by VALR before executing all of them (slippage or another cancel), '
                  'the rest not placed: %s; to place what an intent still lacks (sized by the database): '
                  'SELECT lth_pvr.place_intent_remainder(''<intent>'')', slipped.n, left(slipped.ids, 400))
      FROM slipped WHERE slipped.n > 0
    UNION ALL
    SELECT 'placements_failing', 'critical', placement_failures.n, s.placement_failures_per_hour_max,
           format('%s placement(s) refused by VALR in the last hour: see failed_reason in lth_pvr.v_orders',
                  placement_failures.n)
      FROM placement_failures, s WHERE placement_failures.n > s.placement_failures_per_hour_max
    UNION ALL
    SELECT 'auth_refused', 'critical', workers.auth_refused, 0,
           format('VALR refused the API key of %s worker(s); their pending orders wait: %s',
                  workers.auth_refused, left(workers.auth_refused_detail, 400))
      FROM workers WHERE workers.auth_refused > 0
    UNION ALL
    SELECT 'safety_net_late', 'critical', round(extract(epoch FROM p_now - safety_net.since) / 60, 2),
           2 * s.safety_net_tick_minutes,
           CASE WHEN safety_net.ever
                THEN format('no safety-net tick for %s minutes: the pg_cron job is not running',
                            round(extract(epoch FROM p_now - safety_net.since) / 60))
                ELSE format('the safety net has never ticked since the first migration %s minutes ago: '
                            'the pg_cron job is not running', round(extract(epoch FROM p_now - safety_net.since) / 60))
           END || CASE
                WHEN cron.job = 'failing' THEN format(' (%s)', cron.detail)
                WHEN cron.job = 'scheduled' THEN ' (the job is scheduled and active: see cron.job_run_details, '
                                                 'max_worker_processes and cron.max_running_jobs)'
                WHEN cron.launcher = 'running' THEN format(' (pg_cron''s launcher runs: the job is missing, inactive '
                                                           'or failing in database %s — see cron.job there)',
                                                           current_setting('cron.database_name', true))
                ELSE ' (pg_cron''s launcher cannot be seen: the functions'' owner lacks pg_read_all_stats)'
           END
      FROM safety_net, s, cron
     WHERE safety_net.since < p_now - make_interval(mins => (2 * s.safety_net_tick_minutes)::int)
       AND cron.launcher <> 'stopped' AND cron.job NOT IN ('missing', 'inactive')  -- said at once below
    UNION ALL
    SELECT 'orders_unwatched', 'warning', round(unwatched.oldest, 2), s.unwatched_order_seconds,
           format('%s submitted order(s) with no watching session and no poll due: %s',
                  unwatched.n, left(unwatched.ids, 400))
      FROM unwatched, s WHERE unwatched.n > 0
    UNION ALL
    SELECT 'intent_over_executed', 'critical', over_executed.n, 0,
           format('%s intent(s) executed more than they asked, summed over their orders: %s',
                  over_executed.n, left(over_executed.ids, 400))
      FROM over_executed WHERE over_executed.n > 0
    UNION ALL
    SELECT 'prices_stale', 'critical', round(prices_stale.oldest, 2), lth_pvr.setting('price_stale_alert_seconds'),
           format('%s order(s) with a price fallback have had no price of %s for over %s seconds: '
                  'their price trigger cannot fire', prices_stale.n, prices_stale.pairs,
                  lth_pvr.setting('price_stale_alert_seconds'))
      FROM prices_stale WHERE prices_stale.n > 0
    UNION ALL
    SELECT 'pg_cron_stopped', 'critical', 0, 1, cron.detail FROM cron WHERE cron.launcher = 'stopped'
    UNION ALL
    SELECT 'safety_net_job_missing', 'critical', 0, 1, cron.detail
      FROM cron WHERE cron.launcher <> 'stopped' AND cron.job IN ('missing', 'inactive')
    UNION ALL
    SELECT 'worker_task_failed', 'warning', sum(w.task_failures), 0,
           string_agg(format('%s: %s failure(s), the last at %s: %s', w.worker_id, w.task_failures, w.task_failed_at,
                             w.task_failure), '; ' ORDER BY w.worker_id)
      FROM lth_pvr.workers w, s
     WHERE w.stopped_at IS NULL
       AND w.task_failed_at > p_now - make_interval(mins => s.task_failure_alert_minutes::int)
    HAVING count(*) > 0
    UNION ALL
    SELECT * FROM lth_pvr.ledger_alerts(p_now)  -- the account ledger's (55_ledger/ledger_alerts.sql)
$$;

REVOKE ALL ON FUNCTION lth_pvr.alerts(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lth_pvr.alerts(timestamptz) TO valr_reader;
