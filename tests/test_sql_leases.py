"""Subaccount leases: fair share across live workers, expiry takeover, release on stop, heartbeats."""

from __future__ import annotations

from tests.support.sql import T0, at, lease, make_account, make_order, rows


def held(conn, worker, now=T0, ttl=60) -> set:
    return {r["exchange_account_id"] for r in rows(
        conn, "SELECT * FROM lth_pvr.acquire_leases(%s, %s, %s)", (worker, ttl, now))}


def heartbeat(conn, worker, now=T0) -> None:
    conn.execute("SELECT lth_pvr.worker_heartbeat(%s, 'host', 1, %s)", (worker, now))


def accounts_with_work(conn, n: int) -> list:
    accounts = [make_account(conn) for _ in range(n)]
    for a in accounts:
        make_order(conn, a)
    return accounts


def test_lone_worker_takes_every_account_with_work_only(postgresql):
    busy = accounts_with_work(postgresql, 3)
    make_account(postgresql)  # idle: no lease needed
    result = lease(postgresql, "w1")
    assert {r["exchange_account_id"] for r in result} == set(busy)
    assert all(r["open_orders"] == 1 for r in result)


def test_two_live_workers_split_fairly_and_a_newcomer_gets_work(postgresql):
    accounts = accounts_with_work(postgresql, 4)
    heartbeat(postgresql, "w1")
    assert len(held(postgresql, "w1")) == 4              # alone: everything
    heartbeat(postgresql, "w2", at(seconds=1))
    assert held(postgresql, "w2", at(seconds=1)) == set()  # all taken and unexpired
    mine = held(postgresql, "w1", at(seconds=2))           # w1 hands back beyond its share
    assert len(mine) == 2
    theirs = held(postgresql, "w2", at(seconds=3))
    assert len(theirs) == 2 and not mine & theirs and mine | theirs == set(accounts)


def test_expired_leases_are_taken_over(postgresql):
    accounts_with_work(postgresql, 2)
    heartbeat(postgresql, "w1")
    assert len(held(postgresql, "w1", T0, ttl=30)) == 2
    heartbeat(postgresql, "w2", at(seconds=40))
    # w1 is silent: no longer live, its leases expired; w2 is alone and takes both.
    assert len(held(postgresql, "w2", at(seconds=40), ttl=30)) == 2


def test_stopped_worker_releases_its_leases(postgresql):
    accounts_with_work(postgresql, 2)
    heartbeat(postgresql, "w1")
    held(postgresql, "w1")
    postgresql.execute("SELECT lth_pvr.worker_stopped('w1', %s)", (at(seconds=1),))
    assert rows(postgresql, "SELECT * FROM lth_pvr.subaccount_leases") == []
    heartbeat(postgresql, "w2", at(seconds=2))
    assert len(held(postgresql, "w2", at(seconds=2))) == 2


def test_leases_of_accounts_without_work_are_dropped_and_release_works(postgresql):
    [a, b] = accounts_with_work(postgresql, 2)
    heartbeat(postgresql, "w1")
    assert held(postgresql, "w1") == {a, b}
    postgresql.execute("SELECT lth_pvr.request_cancel(exchange_order_id) FROM lth_pvr.exchange_orders "
                       "WHERE exchange_account_id = %s", (a,))
    assert held(postgresql, "w1", at(seconds=5)) == {b}
    postgresql.execute("SELECT lth_pvr.release_lease('w1', %s, %s)", (b, at(seconds=6)))
    assert rows(postgresql, "SELECT * FROM lth_pvr.subaccount_leases") == []


def test_heartbeat_upserts_and_revives(postgresql):
    heartbeat(postgresql, "w1", T0)
    heartbeat(postgresql, "w1", at(seconds=30))
    postgresql.execute("SELECT lth_pvr.worker_stopped('w1', %s)", (at(seconds=31),))
    heartbeat(postgresql, "w1", at(seconds=40))
    [w] = rows(postgresql, "SELECT * FROM lth_pvr.workers")
    assert (w["last_seen_at"], w["stopped_at"], w["started_at"]) == (at(seconds=40), None, at(seconds=40))


# -- issue 21 item 10: a restarted worker takes its leases back at once ----------------------------------
NS = "boot-1:4026531836"


def started(conn, worker, *, host="h", pid=100, ns=NS, now=T0) -> dict:
    """worker_started's rows: the other workers it may wait for, by id."""
    return {r["worker_id"]: r for r in rows(conn, "SELECT * FROM lth_pvr.worker_started(%s, %s, %s, %s, %s)",
                                            (worker, host, pid, ns, now))}


def take_over(conn, worker, dead: list[dict], now) -> dict:
    from psycopg.types.json import Jsonb

    arg = Jsonb([{k: d[k].isoformat() if k == "started_at" else d[k] for k in ("worker_id", "pid", "started_at")}
                 for d in dead])
    return {r["worker_id"]: r["leases"] for r in rows(
        conn, "SELECT * FROM lth_pvr.take_over_dead_workers(%s, %s, %s)", (worker, arg, now))}


def test_a_dead_worker_on_the_same_host_and_namespace_is_taken_over_at_once(postgresql):
    accounts = accounts_with_work(postgresql, 2)
    started(postgresql, "old", pid=100)
    assert held(postgresql, "old") == set(accounts)
    session = rows(postgresql, "SELECT lth_pvr.session_open('old', %s, %s) AS id", (accounts[0], T0))[0]["id"]
    others = started(postgresql, "new", pid=200, now=at(seconds=3))   # kill -9, restarted under a new id
    assert others["old"]["same_namespace"] and others["old"]["leases"] == 2
    assert take_over(postgresql, "new", [others["old"]], at(seconds=3)) == {"old": 2}
    assert held(postgresql, "new", at(seconds=4)) == set(accounts)     # well before the 60 s TTL
    assert held(postgresql, "old", at(seconds=4)) == set()
    (old,) = rows(postgresql, "SELECT stopped_at FROM lth_pvr.workers WHERE worker_id = 'old'")
    assert old["stopped_at"] == at(seconds=3)
    (closed,) = rows(postgresql, "SELECT close_reason FROM lth_pvr.ws_sessions WHERE session_id = %s", (session,))
    assert "pid 100" in closed["close_reason"] and "taken over by new" in closed["close_reason"]
    # A new tenure: account_work has the new owner reopen and reconcile the subaccounts at once.
    assert all(r["wants_session"] for r in rows(postgresql, "SELECT * FROM lth_pvr.account_work('new', NULL, %s)",
                                                (at(seconds=4),)))


def test_a_worker_elsewhere_restarted_or_unprovable_keeps_its_leases(postgresql):
    accounts = accounts_with_work(postgresql, 4)
    for i, (worker, host, ns) in enumerate([("far", "other-host", NS), ("boxed", "h", "boot-1:999"),
                                            ("unknown", "h", None), ("again", "h", NS)]):
        started(postgresql, worker, host=host, pid=100 + i, ns=ns)
        postgresql.execute("SELECT lth_pvr.release_lease(%s, %s)", (worker, accounts[i]))
        postgresql.execute("INSERT INTO lth_pvr.subaccount_leases (exchange_account_id, worker_id, acquired_at, "
                           "expires_at) VALUES (%s, %s, %s, %s) ON CONFLICT (exchange_account_id) DO UPDATE "
                           "SET worker_id = EXCLUDED.worker_id", (accounts[i], worker, T0, at(seconds=60)))
    others = started(postgresql, "new", pid=200, now=at(seconds=3))
    assert {w: r["same_namespace"] for w, r in others.items()} == {
        "far": False, "boxed": False, "unknown": False, "again": True}
    stale = dict(others["again"])
    started(postgresql, "again", pid=300, now=at(seconds=4))  # restarted meanwhile: no longer that process
    # Listed as dead all the same (a caller's mistake, or a race): none of them is that process here.
    assert take_over(postgresql, "new", list(others.values())[:3] + [stale], at(seconds=5)) == {}
    assert held(postgresql, "new", at(seconds=6), ttl=60) == set()


def test_a_start_under_a_known_id_begins_a_new_tenure_even_with_the_same_pid(postgresql):
    (account,) = accounts_with_work(postgresql, 1)
    started(postgresql, "fixed", pid=1)   # a container's worker is pid 1 at every start
    held(postgresql, "fixed")
    session = rows(postgresql, "SELECT lth_pvr.session_open('fixed', %s, %s) AS id", (account, T0))[0]["id"]
    postgresql.execute("SELECT lth_pvr.session_authenticated(%s, %s)", (session, T0))
    started(postgresql, "fixed", pid=1, now=at(seconds=5))
    (closed,) = rows(postgresql, "SELECT closed_at FROM lth_pvr.ws_sessions WHERE session_id = %s", (session,))
    assert closed["closed_at"] == at(seconds=5)
    (lease_row,) = rows(postgresql, "SELECT acquired_at FROM lth_pvr.subaccount_leases")
    assert lease_row["acquired_at"] == at(seconds=5)


def test_a_worker_with_persistent_sessions_leases_and_keeps_every_account_orders_or_not(postgresql):
    busy, idle = accounts_with_work(postgresql, 1)[0], make_account(postgresql)
    heartbeat(postgresql, "w1")
    postgresql.execute("SELECT lth_pvr.record_persistent_sessions('w1', true)")
    assert held(postgresql, "w1") == {busy, idle}
    work = {r["exchange_account_id"]: r for r in rows(postgresql, "SELECT * FROM lth_pvr.account_work('w1', NULL, %s)",
                                                      (T0,))}
    assert (work[idle]["wants_session"], work[idle]["may_close"]) == (True, False)
    postgresql.execute("SELECT lth_pvr.record_persistent_sessions('w1', false)")  # the default again
    assert held(postgresql, "w1", at(seconds=1)) == {busy}


def why(conn, worker, accounts, now) -> dict:
    return {r["exchange_account_id"]: r["why"] for r in rows(
        conn, "SELECT * FROM lth_pvr.lease_ended_why(%s, %s, %s)", (worker, list(accounts), now))}


def test_a_dropped_lease_says_why_handed_back_then_taken_or_nothing_open(postgresql):
    """What the worker logs as it closes a socket whose lease it lost: routine (nothing open) or work
    moving between workers; read from the leases and orders as they are, not guessed by the worker."""
    accounts = accounts_with_work(postgresql, 4)
    heartbeat(postgresql, "w1")
    assert len(held(postgresql, "w1")) == 4
    heartbeat(postgresql, "w2", at(seconds=1))
    gone = set(accounts) - held(postgresql, "w1", at(seconds=2))  # beyond w1's fair share of 2
    assert len(gone) == 2
    assert why(postgresql, "w1", gone, at(seconds=2)) == {a: "handed_back" for a in gone}
    held(postgresql, "w2", at(seconds=3))
    assert why(postgresql, "w1", gone, at(seconds=3)) == {a: "taken" for a in gone}

    [kept, *_] = held(postgresql, "w1", at(seconds=4))
    postgresql.execute("SELECT lth_pvr.request_cancel(exchange_order_id) FROM lth_pvr.exchange_orders "
                       "WHERE exchange_account_id = %s", (kept,))
    assert kept not in held(postgresql, "w1", at(seconds=5))
    assert why(postgresql, "w1", [kept], at(seconds=5)) == {kept: "nothing_open"}
