"""Sessions and workers in SQL: when a subaccount wants a socket and may close it (account_work), lease
tenures, spacing of lost-placement lookups, and the retirement of dead workers (kill -9 ghosts)."""

from __future__ import annotations

from tests.support.sql import T0, at, claim, lease, make_account, make_order, rows, scalar, submitted_order


def work(conn, worker="w1", now=T0) -> dict:
    found = rows(conn, "SELECT * FROM lth_pvr.account_work(%s, NULL, %s)", (worker, now))
    assert len(found) == 1, found
    return found[0]


def open_session(conn, account, worker="w1", now=T0) -> int:
    return scalar(conn, "SELECT lth_pvr.session_open(%s, %s, %s)", (worker, account, now))


def close_session(conn, session_id, reason, now=T0) -> None:
    conn.execute("SELECT lth_pvr.session_closed(%s, %s, false, %s)", (session_id, reason, now))


def decisions(w: dict) -> tuple[bool, bool, bool]:
    return w["wants_session"], w["may_close"], w["reconcile_on_connect"]


def test_new_work_wants_a_session_and_nothing_open_may_close(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    assert decisions(work(postgresql)) == (True, False, False)  # pending: a socket before placing
    submitted_order(postgresql, account)
    # A status typed by hand needs the functions' permit (the status guard): tests only.
    postgresql.execute("WITH permit AS (SELECT set_config('lth_pvr.status_change', 'finish_order', true)) "
                       "UPDATE lth_pvr.exchange_orders SET status = 'cancelled' FROM permit WHERE exchange_order_id = %s",
                       (order_id,))
    assert decisions(work(postgresql)) == (True, False, True)   # submitted: reconcile on connect
    postgresql.execute("""WITH permit AS (SELECT set_config('lth_pvr.status_change', 'finish_order', true))
                          UPDATE lth_pvr.exchange_orders SET status = 'filled', filled_qty = qty
                            FROM permit WHERE status = 'submitted'""")
    assert decisions(work(postgresql)) == (False, True, False)


def test_max_session_closes_for_good_until_new_work_and_a_new_tenure_recovers(postgresql):
    account = make_account(postgresql)
    submitted_order(postgresql, account)
    postgresql.execute("SELECT lth_pvr.session_authenticated(%s, %s)", (open_session(postgresql, account), T0))
    # Watched, open orders, this tenure's session not ended by --max-session: a worker without the
    # socket (after an outage dropped it) opens it again.
    assert work(postgresql)["wants_session"] is True
    close_session(postgresql, scalar(postgresql, "SELECT max(session_id) FROM lth_pvr.ws_sessions"), "max_session",
                  at(seconds=5))
    assert work(postgresql, now=at(seconds=5))["wants_session"] is False   # the safety net covers it now
    make_order(postgresql, account)                                          # new work
    assert work(postgresql, now=at(seconds=6))["wants_session"] is True
    postgresql.execute("DELETE FROM lth_pvr.exchange_orders WHERE status = 'pending'")
    assert work(postgresql, now=at(seconds=6))["wants_session"] is False
    # The lease ran out (its worker could not renew it) and is renewed later: a new tenure.
    renewed = lease(postgresql, "w1", at(hours=2), ttl=60)
    assert [r["taken"] for r in renewed] == [True]
    assert work(postgresql, now=at(hours=2))["wants_session"] is True


def test_taken_only_when_the_tenure_begins(postgresql):
    account = make_account(postgresql)
    make_order(postgresql, account)
    assert [r["taken"] for r in lease(postgresql, "w1", T0, ttl=60)] == [True]
    assert [r["taken"] for r in lease(postgresql, "w1", at(seconds=10), ttl=60)] == [False]


def test_a_new_process_under_the_same_worker_id_closes_the_old_sessions_and_recovers(postgresql):
    account = make_account(postgresql)
    submitted_order(postgresql, account)
    session = open_session(postgresql, account)
    postgresql.execute("SELECT lth_pvr.session_authenticated(%s, %s)", (session, T0))
    close_session(postgresql, open_session(postgresql, account, now=at(seconds=1)), "max_session", at(seconds=2))
    assert work(postgresql, now=at(seconds=2))["wants_session"] is False
    assert scalar(postgresql, "SELECT close_reason FROM lth_pvr.ws_sessions WHERE session_id = %s",
                  (session,)).startswith("superseded")
    session = open_session(postgresql, account, now=at(seconds=3))
    postgresql.execute("SELECT lth_pvr.worker_heartbeat('w1', 'test', 2, %s)", (at(seconds=4),))  # pid 1 -> 2
    assert scalar(postgresql, "SELECT close_reason FROM lth_pvr.ws_sessions WHERE session_id = %s",
                  (session,)).startswith("worker restarted")
    assert work(postgresql, now=at(seconds=4))["wants_session"] is True


def test_lost_placement_lookups_are_spaced_in_sql(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    postgresql.execute("SELECT lth_pvr.begin_placement(%s, %s)", (order_id, T0))

    def claimed(seconds: float, in_flight=()) -> bool:
        found = rows(postgresql, "SELECT * FROM lth_pvr.claim_lost_placements('w1', 5, %s, 100, %s)",
                     (list(in_flight), at(seconds=seconds)))
        return [r["exchange_order_id"] for r in found] == [order_id]

    assert not claimed(5)                      # not lost yet
    assert not claimed(6, in_flight=[order_id])  # its POST is still under way in this worker
    lookups = [s for s in range(6, 120) if claimed(s)]
    assert lookups[:6] == [6, 8, 12, 20, 36, 66]  # at once, then 2, 4, 8, 16, 30 (capped) s apart
    assert all(b - a == 30 for a, b in zip(lookups[5:], lookups[6:]))
    assert not rows(postgresql, "SELECT * FROM lth_pvr.claim_lost_placements('w2', 5, '{}', 100, %s)",
                    (at(seconds=200),))  # another worker's lease


def test_a_dead_worker_is_retired_once_its_leases_are_gone(postgresql):
    account = make_account(postgresql)
    submitted_order(postgresql, account, worker="dead")
    lease(postgresql, "dead", T0, ttl=30)
    session = open_session(postgresql, account, worker="dead")
    retire = lambda now: scalar(postgresql, "SELECT lth_pvr.retire_lost_workers(%s)", (now,))  # noqa: E731

    # kill -9 at T0. Silent 60 s, but a lease still unexpired (a long TTL): not yet.
    postgresql.execute("UPDATE lth_pvr.subaccount_leases SET expires_at = %s", (at(seconds=90),))
    assert retire(at(seconds=61)) == 0
    # Another worker takes the lease over once it runs out; the dead one is retired with it.
    lease(postgresql, "alive", at(seconds=91), ttl=30)
    assert scalar(postgresql, "SELECT worker_id FROM lth_pvr.subaccount_leases") == "alive"
    dead = rows(postgresql, "SELECT * FROM lth_pvr.workers WHERE worker_id = 'dead'")[0]
    assert dead["stopped_at"] == at(seconds=91)
    closed = rows(postgresql, "SELECT * FROM lth_pvr.ws_sessions WHERE session_id = %s", (session,))[0]
    assert closed["closed_at"] == at(seconds=91) and closed["close_reason"].startswith("worker lost")
    assert not rows(postgresql, "SELECT * FROM lth_pvr.v_active_sessions WHERE worker_id = 'dead'")
    # Without the retirement the dead worker would stay stale for ever (the living one is not yet).
    names = {r["name"] for r in rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s)", (at(seconds=150),))}
    assert "stale_workers" not in names
    # A retired worker that reports again is alive again.
    postgresql.execute("SELECT lth_pvr.worker_heartbeat('dead', 'test', 1, %s)", (at(seconds=300),))
    assert scalar(postgresql, "SELECT stopped_at FROM lth_pvr.workers WHERE worker_id = 'dead'") is None


def test_with_no_worker_left_the_cron_tick_retires_the_dead_one(postgresql):
    account = make_account(postgresql)
    submitted_order(postgresql, account, worker="dead")
    lease(postgresql, "dead", T0, ttl=30)
    open_session(postgresql, account, worker="dead")
    postgresql.execute("SELECT lth_pvr.safety_net_tick(%s)", (at(seconds=59),))
    assert scalar(postgresql, "SELECT stopped_at FROM lth_pvr.workers WHERE worker_id = 'dead'") is None
    postgresql.execute("SELECT lth_pvr.safety_net_tick(%s)", (at(seconds=61),))
    assert scalar(postgresql, "SELECT stopped_at FROM lth_pvr.workers WHERE worker_id = 'dead'") == at(seconds=61)
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.ws_sessions WHERE closed_at IS NULL") == 0
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.subaccount_leases") == 0
    names = {r["name"] for r in rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s)", (at(seconds=200),))}
    assert "stale_workers" not in names and "no_live_worker" in names  # nothing runs: that still fires
