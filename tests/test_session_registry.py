"""Issue 21 item 14: the runner's session registry has one owner. The lease watcher awaits each
session's stop; a session `place_now` creates for the same subaccount meanwhile must stay registered
(its socket would otherwise live on, unregistered), and two stoppers must not collide. In-process, with
sessions that only record what is done to them (no socket: the registry is the subject)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from worker.config import build_settings
from worker.daemon.registry import SessionRegistry
from worker.daemon.runner import Runner

ACCOUNT = uuid.uuid4()


class SlowStopSession:
    """A session whose stop takes as long as the test says (a socket closing slowly)."""

    def __init__(self, account_id: uuid.UUID, subaccount_id: str) -> None:
        self.subaccount_id = subaccount_id
        self.stop_reason: str | None = None
        self.release = asyncio.Event()
        self.stopping = asyncio.Event()
        self.started = False

    @property
    def done(self) -> bool:
        return False

    def start(self) -> None:
        self.started = True

    async def stop(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        self.stopping.set()
        await self.release.wait()


def runner(database_url: str = "postgresql://unused@localhost/unused", lease_ttl_s: int = 2) -> Runner:
    settings = build_settings(database_url=database_url, valr_base_url=None,
                              max_session=0, socket_wait=0, log_format="text", lease_ttl_s=lease_ttl_s,
                              env={"VALR_API_KEY": "k", "VALR_API_SECRET": "s" * 8})
    r = Runner(settings)
    r.sessions = SessionRegistry(SlowStopSession)
    return r


def test_a_session_created_while_the_lease_watcher_stops_the_old_one_stays_registered():
    asyncio.run(watcher_meets_place_now())


async def watcher_meets_place_now() -> None:
    r = runner()
    old = r.ensure_session(ACCOUNT, "sub")
    r.last_lease_renewal = time.monotonic() - 10  # leases not renewed in time: the watcher closes sockets
    watcher = asyncio.create_task(r._watch_lease_renewal())
    await asyncio.wait_for(old.stopping.wait(), 5)
    new = r.ensure_session(ACCOUNT, "sub")  # place_now claimed an order of the subaccount meanwhile
    assert new is not old and new.started
    r.last_lease_renewal = time.monotonic()  # the tick renewed the leases meanwhile
    old.release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    r.request_stop()
    await asyncio.wait_for(watcher, 5)
    assert r.sessions.get(ACCOUNT) is new and new.stop_reason is None
    assert old.stop_reason == "lease_unrenewable"


def test_two_stoppers_of_one_session_neither_raises_nor_removes_its_successor():
    asyncio.run(two_stoppers())


async def two_stoppers() -> None:
    registry = SessionRegistry(SlowStopSession)
    old = registry.ensure(ACCOUNT, "sub")
    first = asyncio.create_task(registry.stop(ACCOUNT, old, "lease_lost"))
    second = asyncio.create_task(registry.stop(ACCOUNT, old, "lease_unrenewable"))
    await asyncio.wait_for(old.stopping.wait(), 5)
    new = registry.ensure(ACCOUNT, "sub")
    old.release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert registry.get(ACCOUNT) is new and len(registry) == 1


def test_a_session_task_that_raised_is_reported_when_pruned_and_then_replaced():
    """Issue 21 item 15 for sessions: a session's task ended by an error its loop did not catch is
    reported (the runner's supervisor: log with traceback, count, alert), and a new session follows."""
    reported: list[tuple[str, BaseException]] = []

    class BrokenSession(SlowStopSession):
        def start(self) -> None:
            async def broken() -> None:
                raise RuntimeError("a bug in the session")
            self.task = asyncio.get_running_loop().create_task(broken())

        @property
        def done(self) -> bool:
            return self.task.done()

    async def scenario() -> None:
        registry = SessionRegistry(BrokenSession, failed=lambda name, exc: reported.append((name, exc)))
        first = registry.ensure(ACCOUNT, "sub")
        await asyncio.wait({first.task})
        registry.prune_done()
        assert registry.get(ACCOUNT) is None
        assert registry.ensure(ACCOUNT, "sub") is not first

    asyncio.run(scenario())
    assert [(name, str(exc)) for name, exc in reported] == [("session sub", "a bug in the session")]


def test_the_lease_watcher_renews_the_leases_itself_while_the_tick_is_held_up(orders, worker_url):
    """2,000 sockets' recording can hold every pooled connection for longer than a lease: the tick (and
    its renewal) then waits behind it. The watcher renews on the lease connection instead of closing
    every socket (which, under VALR's 60 connections a minute, costs a 33-minute cold start again)."""
    account = orders.account("sub")
    orders.insert(account)  # an open order: the account has work, its lease is wanted
    asyncio.run(tick_held_up(worker_url, account))
    assert orders.sql("SELECT count(*) FROM lth_pvr.subaccount_leases "
                      "WHERE expires_at > now() + interval '1 second'") == [(1,)]  # renewed, still held


@contextlib.asynccontextmanager
async def runner_with_leases(worker_url: str, lease_ttl_s: int):
    """A runner whose lease store is real (its own one-connection pool, as the worker's), sessions not."""
    from psycopg_pool import AsyncConnectionPool

    from worker.db.store import Store

    r = runner(worker_url, lease_ttl_s=lease_ttl_s)
    r.lease_pool = AsyncConnectionPool(worker_url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True})
    await r.lease_pool.open(wait=True, timeout=10)
    try:
        r.lease_store = Store(r.lease_pool, r.settings.worker_id)
        await r.lease_store.acquire_leases(lease_ttl_s)
        yield r
    finally:
        await r.lease_pool.close()


async def tick_held_up(worker_url: str, account: uuid.UUID) -> None:
    async with runner_with_leases(worker_url, 3) as r:
        session = r.ensure_session(account, "sub")
        r.last_lease_renewal = time.monotonic() - 1.5  # the tick has not renewed for half a lease
        watcher = asyncio.create_task(r._watch_lease_renewal())
        await asyncio.sleep(3.0)  # past 0.8 of the lease since the tick's last renewal
        r.request_stop()
        await asyncio.wait_for(watcher, 5)
        assert session.stop_reason is None  # never closed: its lease was renewed meanwhile
        assert time.monotonic() - r.last_lease_renewal < 2.4


def test_a_lost_lease_is_logged_with_the_reason_sql_gives(orders, worker_url, caplog):
    """The log once said "passed to another worker" for a lease dropped because nothing was open (it
    judged by the previous tick's work): an operator read work moving between workers where there was
    none. Now each closed socket says what lease_ended_why found: nothing open, or taken."""
    quiet, busy = orders.account("quiet"), orders.account("busy")
    quiet_order, _ = orders.insert(quiet)
    orders.insert(busy)
    caplog.set_level(logging.DEBUG, logger="worker.runner")
    asyncio.run(leases_lost(worker_url, orders, quiet, quiet_order, busy))
    said = {r.fields["subaccount"]: (r.levelno, r.getMessage()) for r in caplog.records
            if r.name == "worker.runner" and "closing its socket" in r.getMessage()}
    assert said == {"quiet": (logging.DEBUG, "lease released: nothing open; closing its socket"),
                    "busy": (logging.INFO, "lease taken by another worker; closing its socket")}


async def leases_lost(worker_url: str, orders, quiet: uuid.UUID, quiet_order: uuid.UUID, busy: uuid.UUID) -> None:
    async with runner_with_leases(worker_url, 60) as r:
        sessions = [r.ensure_session(quiet, "quiet"), r.ensure_session(busy, "busy")]
        for session in sessions:
            session.release.set()  # their sockets close at once
        orders.sql("SELECT lth_pvr.request_cancel(%s)", (quiet_order,))  # never placed: cancelled, nothing open
        # This worker's lease of `busy` runs out and another worker takes it.
        orders.sql("UPDATE lth_pvr.subaccount_leases SET expires_at = now() - interval '1 second' "
                   "WHERE exchange_account_id = %s", (busy,))
        assert [row[0] for row in orders.sql("SELECT exchange_account_id FROM lth_pvr.acquire_leases('other', 60)")] \
            == [busy]
        await r._renew_leases()
        assert [s.stop_reason for s in sessions] == ["lease_lost", "lease_lost"]
