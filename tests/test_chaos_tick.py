"""The chaos run's safety-net tick: time compressed by the run's settings, never by the tick's clock.
With the clock of the next 10-minute tick, the tick's other rules took every live worker for lost:
retire_lost_workers closed its sessions and dropped its leases every few seconds of the run and its
final pass (the workers then passed the leases around, closing and reopening their sockets)."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.support.sql import lease, make_account, open_session, scalar, submitted_order
from worker.lab.chaos.command import ChaosPlan, Sql, run_settings, safety_net_tick


def test_the_chaos_tick_finds_a_just_polled_order_due_and_leaves_a_live_worker_live(postgresql, db_url):
    now = datetime.now(timezone.utc)
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, now=now, worker="w1")
    lease(postgresql, "w1", now, ttl=5)  # the chaos run's lease TTL
    session = open_session(postgresql, account, now=now)
    postgresql.execute("SELECT * FROM lth_pvr.record_poll(%s, 'error', NULL, 'just polled', %s)", (order_id, now))
    for name, value in run_settings(ChaosPlan()).items():
        postgresql.execute("UPDATE lth_pvr.settings SET value = %s WHERE name = %s", (value, name))
    postgresql.commit()

    db = Sql(db_url)
    try:
        safety_net_tick(db)
    finally:
        db.close()

    # Polled a moment ago, yet due: the run's settings compress the safety net's schedule.
    assert scalar(postgresql, "SELECT poll_due_at FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s",
                  (order_id,)) is not None
    # The worker reported a moment ago: not retired, its socket's session open, its lease row kept.
    assert scalar(postgresql, "SELECT stopped_at FROM lth_pvr.workers WHERE worker_id = 'w1'") is None
    assert scalar(postgresql, "SELECT close_reason FROM lth_pvr.ws_sessions WHERE session_id = %s", (session,)) is None
    assert scalar(postgresql, "SELECT worker_id FROM lth_pvr.subaccount_leases "
                              "WHERE exchange_account_id = %s", (account,)) == "w1"
