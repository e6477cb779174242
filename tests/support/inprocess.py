"""Daemon parts run in-process, without a runner or a subprocess: their context built by hand over the
real database (as the least-privileged worker login) and the simulator's real REST and WebSocket ports."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool

from tests.harness import API_KEY, API_SECRET
from worker.daemon.context import WatchContext
from worker.daemon.dbhealth import DatabaseHealth
from worker.daemon.lookups import Lookups
from worker.daemon.session import SessionContext
from worker.daemon.tasks import Tasks
from worker.db.store import Store
from worker.valr import Credentials, ValrClient

WORKER = "in-process"
CREDENTIALS = Credentials(API_KEY, API_SECRET)


@contextlib.asynccontextmanager
async def worker_io(worker_url: str, sim_url: str) -> AsyncIterator[tuple[Store, ValrClient]]:
    """The worker's database calls and REST client, its heartbeat sent and its leases taken."""
    pool = AsyncConnectionPool(worker_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True, timeout=10)
    client = ValrClient(sim_url, CREDENTIALS)
    store = Store(pool, WORKER)
    try:
        await store.heartbeat("test", 1)
        await store.acquire_leases(60)
        yield store, client
    finally:
        await client.aclose()
        await pool.close()


@contextlib.asynccontextmanager
async def session_context(worker_url: str, sim_url: str, **settings) -> AsyncIterator[SessionContext]:
    async with worker_io(worker_url, sim_url) as (store, client):
        tasks = Tasks()
        try:
            yield SessionContext(store=store, client=client, lookups=Lookups(client, store), spawn=tasks.spawn,
                                 valr_base_url=sim_url, credentials=CREDENTIALS, **settings)
        finally:
            if tasks.running:
                await asyncio.wait(list(tasks.running), timeout=5)


@dataclass
class Asked:
    """What a watcher asked of the runner: how many times it sent cancels now, the cancels SQL handed
    over with them (hand_over_cancels), how many times the rest were to be claimed, and tick wake-ups."""
    cancels_sent: int = 0
    handed_over: list[dict] = field(default_factory=list)
    claims: int = 0
    wakes: int = 0


@contextlib.asynccontextmanager
async def watch_context(worker_url: str, sim_url: str) -> AsyncIterator[tuple[WatchContext, Asked]]:
    async with worker_io(worker_url, sim_url) as (store, client):
        asked = Asked()

        def send_cancels_now(handed_over: Sequence[dict] = (), claim_rest: bool = True) -> None:
            asked.cancels_sent += 1
            asked.handed_over += handed_over
            asked.claims += claim_rest

        def wake() -> None:
            asked.wakes += 1

        yield WatchContext(store=store, db=DatabaseHealth(), send_cancels_now=send_cancels_now, wake=wake,
                           client=client, valr_base_url=sim_url, credentials=CREDENTIALS), asked


@contextlib.asynccontextmanager
async def running(watcher) -> AsyncIterator[None]:
    """A watcher's run() as a task for the block; stopped and awaited after it."""
    task = asyncio.create_task(watcher.run())
    try:
        yield
    finally:
        stopped = watcher.stop()
        if asyncio.iscoroutine(stopped):
            await stopped
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def eventually(predicate: Callable[[], object], timeout: float = 15.0, what: str = "condition"):
    """Waits until predicate() (run in a thread: it may query the database) is truthy; returns it."""
    deadline = time.monotonic() + timeout
    while not (value := await asyncio.to_thread(predicate)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value
