"""v_alerts: every threshold of the spec's "Alert Thresholds" (and the added ones) fires past its
threshold and not at or below it, on the simulated clock; thresholds come from lth_pvr.settings."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from tests.support.sql import (
    T0, at, claim, lease, make_account, make_order, one, rows, settle, status_payload, submitted_order,
)


def fired(conn, now) -> dict[str, dict]:
    """Alerts firing at `now`, with a live worker and a safety-net tick, so no_live_worker and
    safety_net_late stay quiet unless tested."""
    conn.execute("SELECT lth_pvr.worker_heartbeat('alive', 'h', 1, %s)", (now,))
    conn.execute("INSERT INTO lth_pvr.safety_net_runs (ran_at, orders_due, notified) VALUES (%s, 0, false)", (now,))
    return {r["name"]: r for r in rows(conn, "SELECT * FROM lth_pvr.alerts(%s)", (now,))}


def submitted_rows(conn, account, n: int, *, monitored: int = 0, poll_count: int = 0, at_time=T0) -> None:
    conn.execute(
        """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty, status,
                                                ext_order_id, submitted_at, exchange_confirmed_at)
           SELECT %s, gen_random_uuid(), 'BTCZAR', 'BUY', 1000000, 0.001, 'submitted', gen_random_uuid()::text, %s, %s
             FROM generate_series(1, %s)""", (account, at_time, at_time, n))
    conn.execute(
        """UPDATE lth_pvr.exchange_orders SET ws_monitored_at = submitted_at
            WHERE exchange_order_id IN (SELECT exchange_order_id FROM lth_pvr.exchange_orders
                                         WHERE ws_monitored_at IS NULL LIMIT %s)""", (monitored,))
    conn.execute("UPDATE lth_pvr.exchange_orders SET poll_count = %s", (poll_count,))


def test_quiet_system_has_no_alerts(postgresql):
    assert fired(postgresql, T0) == {}


def test_ws_coverage_below_80_percent(postgresql):
    account = make_account(postgresql)
    submitted_rows(postgresql, account, 10, monitored=8)
    assert "ws_coverage" not in fired(postgresql, at(minutes=1))   # exactly 80 %
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET ws_monitored_at = NULL "
                       "WHERE exchange_order_id = (SELECT exchange_order_id FROM lth_pvr.exchange_orders "
                       "WHERE ws_monitored_at IS NOT NULL LIMIT 1)")
    alert = fired(postgresql, at(minutes=1))["ws_coverage"]
    assert (alert["level"], alert["measured"], alert["threshold"]) == ("critical", 70, 80)
    assert "ws_coverage" not in fired(postgresql, at(days=8))      # out of the 7-day window


def test_average_polls_per_order_above_10(postgresql):
    account = make_account(postgresql)
    submitted_rows(postgresql, account, 2, monitored=2, poll_count=10)
    assert "avg_polls_per_order" not in fired(postgresql, at(minutes=1))
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET poll_count = 11 WHERE exchange_order_id = "
                       "(SELECT min(exchange_order_id::text)::uuid FROM lth_pvr.exchange_orders)")
    alert = fired(postgresql, at(minutes=1))["avg_polls_per_order"]
    assert (alert["level"], alert["measured"], alert["threshold"]) == ("critical", 10.5, 10)


def test_stuck_orders_not_confirmed_for_over_an_hour(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET ws_monitored_at = submitted_at")
    assert "stuck_orders" not in fired(postgresql, at(minutes=60))
    alert = fired(postgresql, at(minutes=60, seconds=1))["stuck_orders"]
    assert alert["level"] == "critical" and alert["threshold"] == 60 and str(order_id) in alert["detail"]
    # A poll (or an event) confirms it: the hour starts again from there.
    one(postgresql, "SELECT * FROM lth_pvr.record_poll(%s, 'ok', %s, NULL, %s)",
        (order_id, Jsonb(status_payload("valr-1", "Placed")), at(minutes=30)))
    assert "stuck_orders" not in fired(postgresql, at(minutes=90))
    assert "stuck_orders" in fired(postgresql, at(minutes=90, seconds=1))


def test_polls_per_day_above_200(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET ws_monitored_at = submitted_at")
    poll = ("SELECT count(*) FROM generate_series(1, %s) AS i, "
            "LATERAL lth_pvr.record_poll(%s, 'error', NULL, 'timeout', %s + i * interval '1 second')")
    postgresql.execute(poll, (5, order_id, at(hours=-30)))        # older than 24 h: not counted
    postgresql.execute(poll, (200, order_id, at(minutes=1)))
    now = at(minutes=10)
    assert "polls_per_day" not in fired(postgresql, now)
    postgresql.execute(poll, (1, order_id, at(minutes=5)))
    alert = fired(postgresql, now)["polls_per_day"]
    assert (alert["level"], alert["measured"], alert["threshold"]) == ("warning", 201, 200)


def test_ws_failures_above_10_percent(postgresql):
    account = make_account(postgresql)
    ids = [one(postgresql, "SELECT lth_pvr.session_open(%s, %s, %s) AS id", (f"w{i}", account, at(minutes=i)))["id"]
           for i in range(10)]
    close = "SELECT lth_pvr.session_closed(%s, %s, %s, %s)"
    postgresql.execute(close, (ids[0], "1006 abnormal closure", True, at(minutes=20)))
    postgresql.execute(close, (ids[1], "shutdown", False, at(minutes=20)))
    assert "ws_failures" not in fired(postgresql, at(minutes=30))   # 1 of 10 = 10 %
    postgresql.execute(close, (ids[2], "auth failed", True, at(minutes=21)))
    alert = fired(postgresql, at(minutes=30))["ws_failures"]
    assert (alert["level"], alert["measured"], alert["threshold"]) == ("warning", 20, 10)
    assert "ws_failures" not in fired(postgresql, at(hours=25))     # out of the 24 h window


def test_pending_orders_not_placed_within_5_minutes(postgresql):
    account = make_account(postgresql)
    make_order(postgresql, account, created_at=T0)
    assert "pending_unplaced" not in fired(postgresql, at(minutes=5))
    alert = fired(postgresql, at(minutes=5, seconds=1))["pending_unplaced"]
    assert alert["level"] == "critical" and alert["threshold"] == 5
    settle(postgresql, pending_unplaced_minutes=10)
    assert "pending_unplaced" not in fired(postgresql, at(minutes=5, seconds=1))


def test_placing_orders_unresolved_for_2_minutes(postgresql):
    account = make_account(postgresql)
    make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    assert "placing_unresolved" not in fired(postgresql, at(minutes=2))
    alert = fired(postgresql, at(minutes=2, seconds=1))["placing_unresolved"]
    assert alert["level"] == "critical" and "w1" in alert["detail"]


def test_no_live_worker_heartbeat(postgresql):
    never = {r["name"] for r in rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s)", (T0,))}
    assert never == {"no_live_worker"}
    postgresql.execute("SELECT lth_pvr.worker_heartbeat('w1', 'h', 1, %s)", (T0,))
    names = lambda now: {r["name"]: r for r in rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s)", (now,))}  # noqa: E731
    assert names(at(seconds=90)) == {}
    late = names(at(seconds=91))
    assert set(late) == {"no_live_worker", "stale_workers"}
    # Measured: live workers (0), against at least 1 — never a value below its own threshold.
    assert (late["no_live_worker"]["measured"], late["no_live_worker"]["threshold"]) == (0, 1)
    assert "no worker heartbeat for 91 seconds (limit 90)" in late["no_live_worker"]["detail"]
    assert "w1" in late["stale_workers"]["detail"]
    postgresql.execute("SELECT lth_pvr.worker_stopped('w1', %s)", (at(seconds=92),))
    stopped = names(at(seconds=93))
    assert set(stopped) == {"no_live_worker"}  # stopped cleanly: not stale, but none live
    assert (stopped["no_live_worker"]["measured"], stopped["no_live_worker"]["threshold"]) == (0, 1)
    assert "every worker stopped" in stopped["no_live_worker"]["detail"]


def test_v_alerts_is_the_function_at_now(postgresql):
    postgresql.execute("INSERT INTO lth_pvr.safety_net_runs (orders_due, notified) VALUES (0, false)")
    assert {r["name"] for r in rows(postgresql, "SELECT * FROM lth_pvr.v_alerts")} == {"no_live_worker"}


# -- alerts added for operators: placements failing, key refused, pg_cron silent, orders unwatched --

def test_placements_failing_more_than_3_in_the_last_hour(postgresql):
    account = make_account(postgresql)
    for _ in range(4):
        make_order(postgresql, account)
    lease(postgresql, "w1")
    claimed = [c["exchange_order_id"] for c in claim(postgresql, "w1", T0)]
    refuse = "SELECT * FROM lth_pvr.record_placement(%s, NULL, 'Insufficient Balance', NULL, %s)"
    for order_id in claimed[:3]:
        one(postgresql, refuse, (order_id, at(minutes=1)))
    assert "placements_failing" not in fired(postgresql, at(minutes=2))      # 3: at the threshold
    one(postgresql, refuse, (claimed[3], at(minutes=2)))
    alert = fired(postgresql, at(minutes=3))["placements_failing"]
    assert (alert["level"], alert["measured"], alert["threshold"]) == ("critical", 4, 3)
    assert "placements_failing" not in fired(postgresql, at(minutes=61, seconds=1))  # out of the hour


def test_auth_refused_while_the_worker_lives(postgresql):
    postgresql.execute("SELECT lth_pvr.worker_heartbeat('w1', 'h', 1, %s)", (T0,))
    assert "auth_refused" not in fired(postgresql, T0)
    postgresql.execute("SELECT lth_pvr.record_auth_refused('w1', 'VALR 401 code=-1: Invalid API key', NULL, %s)", (T0,))
    postgresql.execute("SELECT lth_pvr.worker_heartbeat('w1', 'h', 1, %s)", (at(seconds=30),))
    alert = fired(postgresql, at(seconds=30))["auth_refused"]
    assert (alert["level"], alert["measured"]) == ("critical", 1)
    assert "w1: VALR 401 code=-1: Invalid API key" in alert["detail"]
    postgresql.execute("SELECT lth_pvr.record_auth_accepted('w1', %s)", (at(seconds=40),))
    assert "auth_refused" not in fired(postgresql, at(seconds=40))
    postgresql.execute("SELECT lth_pvr.record_auth_refused('w1', 'Invalid API key', NULL, %s)", (at(seconds=50),))
    postgresql.execute("SELECT lth_pvr.worker_stopped('w1', %s)", (at(seconds=60),))
    assert "auth_refused" not in fired(postgresql, at(seconds=61))            # a stopped worker places nothing


def test_safety_net_late_after_two_intervals_without_a_tick(postgresql):
    heartbeat = "SELECT lth_pvr.worker_heartbeat('alive', 'h', 1, %s)"
    names = lambda now: (postgresql.execute(heartbeat, (now,)),  # noqa: E731
                         {r["name"]: r for r in rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s)", (now,))})[1]
    # The tick writes its own row (pg_cron may live in another database: no cron columns needed).
    postgresql.execute("SELECT lth_pvr.safety_net_tick(%s)", (T0,))
    assert "safety_net_late" not in names(at(minutes=20))
    alert = names(at(minutes=20, seconds=1))["safety_net_late"]
    assert (alert["level"], alert["threshold"]) == ("critical", 20) and alert["measured"] > 20
    assert "launcher runs" in alert["detail"]  # pg_cron lives in another database here: which case it is
    settle(postgresql, safety_net_tick_minutes=15)
    assert "safety_net_late" not in names(at(minutes=30))


def test_safety_net_never_ticked_counts_from_the_first_migration(postgresql):
    postgresql.execute("UPDATE lth_pvr.schema_migrations SET applied_at = %s", (T0,))
    heartbeat = "SELECT lth_pvr.worker_heartbeat('alive', 'h', 1, %s)"
    postgresql.execute(heartbeat, (at(minutes=20),))
    assert rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s)", (at(minutes=20),)) == []
    postgresql.execute(heartbeat, (at(minutes=21),))
    late = {r["name"]: r for r in rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s)", (at(minutes=21),))}
    assert "never ticked" in late["safety_net_late"]["detail"]


def watched_order(conn, account, now=T0) -> tuple:
    """A submitted order watched by an authenticated session; returns (order id, session id)."""
    session_id = one(conn, "SELECT lth_pvr.session_open('w1', %s, %s) AS id", (account, now))["id"]
    conn.execute("SELECT * FROM lth_pvr.session_authenticated(%s, %s)", (session_id, now))
    return submitted_order(conn, account, now=now), session_id


def test_orders_unwatched_after_a_session_lost_with_no_poll_due(postgresql):
    account = make_account(postgresql)
    order_id, session_id = watched_order(postgresql, account)
    assert "orders_unwatched" not in fired(postgresql, at(minutes=10))        # the session watches it
    # The database went away: the worker dropped the socket and nothing reopened it.
    postgresql.execute("SELECT lth_pvr.session_closed(%s, 'lease_unrenewable', false, %s)", (session_id, at(minutes=10)))
    assert "orders_unwatched" not in fired(postgresql, at(minutes=12))        # 120 s: at the threshold
    alert = fired(postgresql, at(minutes=12, seconds=1))["orders_unwatched"]
    assert (alert["level"], alert["measured"], alert["threshold"]) == ("warning", 121, 120)
    assert str(order_id) in alert["detail"]
    # A poll due covers it (the safety net or request_poll marked it) ...
    postgresql.execute("SELECT * FROM lth_pvr.request_poll(%s, %s)", ([order_id], at(minutes=13)))
    assert "orders_unwatched" not in fired(postgresql, at(minutes=13))
    # ... and so does a session watching the account again.
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET poll_due_at = NULL")
    assert "orders_unwatched" in fired(postgresql, at(minutes=14))
    watched_order(postgresql, account, now=at(minutes=14))
    assert "orders_unwatched" not in fired(postgresql, at(minutes=20))


def test_orders_unwatched_quiet_after_a_max_session_close(postgresql):
    # Phase 1: the session closes after --max-session and the safety net takes over, by design.
    account = make_account(postgresql)
    _, session_id = watched_order(postgresql, account)
    postgresql.execute("SELECT lth_pvr.session_closed(%s, 'max_session', false, %s)", (session_id, at(minutes=5)))
    assert "orders_unwatched" not in fired(postgresql, at(minutes=30))


def test_worker_task_failed_while_recent_and_the_worker_alive(postgresql):
    postgresql.execute("SELECT lth_pvr.worker_started('w1', 'h', 7, NULL, %s)", (T0,))
    postgresql.execute("SELECT lth_pvr.record_task_failure('w1', 'prices', 'KeyError: bid', %s)", (at(minutes=1),))
    alert = fired(postgresql, at(minutes=2))["worker_task_failed"]
    assert (alert["level"], alert["measured"]) == ("warning", 1) and "prices: KeyError: bid" in alert["detail"]
    assert "worker_task_failed" not in fired(postgresql, at(minutes=61, seconds=1))  # task_failure_alert_minutes
    postgresql.execute("SELECT lth_pvr.worker_started('w1', 'h', 8, NULL, %s)", (at(minutes=3),))
    assert "worker_task_failed" not in fired(postgresql, at(minutes=4))  # a new process starts with none
