"""The chaos run's safety-net tick: time compressed by the run's settings, never by the tick's clock.
With the clock of the next 10-minute tick, the tick's other rules took every live worker for lost:
retire_lost_workers closed its sessions and dropped its leases every few seconds of the run and its
final pass (the workers then passed the leases around, closing and reopening their sockets)."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.support.sql import lease, make_account, open_session, scalar, submitted_order
from worker.lab.chaos.command import ChaosPlan, Sql, open_order_waits, run_settings, safety_net_tick


def live_worker_with_a_just_polled_order(postgresql) -> tuple:
    """Worker w1, live now (real time: the tick reads now()), holding the account's lease and its
    socket's session; the account's submitted order polled a moment ago."""
    now = datetime.now(timezone.utc)
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, now=now, worker="w1")
    lease(postgresql, "w1", now, ttl=30)  # renewed every few seconds: far shorter than 10 minutes
    session = open_session(postgresql, account, now=now)
    postgresql.execute("SELECT * FROM lth_pvr.record_poll(%s, 'error', NULL, 'just polled', %s)", (order_id, now))
    for name, value in run_settings(ChaosPlan()).items():
        postgresql.execute("UPDATE lth_pvr.settings SET value = %s WHERE name = %s", (value, name))
    postgresql.commit()
    return account, order_id, session


def tick_and_waits(db_url: str) -> list[dict]:
    db = Sql(db_url)
    try:
        safety_net_tick(db)
        return open_order_waits(db)
    finally:
        db.close()


def test_the_chaos_tick_finds_a_just_polled_order_due_and_leaves_a_live_worker_live(postgresql, db_url):
    account, order_id, session = live_worker_with_a_just_polled_order(postgresql)

    tick_and_waits(db_url)

    # Polled a moment ago, yet due: the run's settings compress the safety net's schedule.
    assert scalar(postgresql, "SELECT poll_due_at FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s",
                  (order_id,)) is not None
    # The worker reported a moment ago: not retired, its socket's session open, its lease row kept.
    assert scalar(postgresql, "SELECT stopped_at FROM lth_pvr.workers WHERE worker_id = 'w1'") is None
    assert scalar(postgresql, "SELECT close_reason FROM lth_pvr.ws_sessions WHERE session_id = %s", (session,)) is None
    assert scalar(postgresql, "SELECT worker_id FROM lth_pvr.subaccount_leases "
                              "WHERE exchange_account_id = %s", (account,)) == "w1"


def test_an_unsettled_final_pass_says_what_each_open_order_waits_for(postgresql, db_url):
    account, order_id, _ = live_worker_with_a_just_polled_order(postgresql)

    [wait] = tick_and_waits(db_url)

    assert wait["order"] == str(order_id) and wait["status"] == "submitted" and wait["lease_holder"] == "w1"
    assert wait["poll_due"] is True and wait["poll_claimed_by"] is None and wait["polls"] == 1
    assert wait["last_poll"] == "error: just polled"
