"""Subaccount leases: fair share across live workers, expiry takeover, release on stop, heartbeats."""

from __future__ import annotations

from tests.test_sql_support import T0, at, lease, make_account, make_order, rows


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
