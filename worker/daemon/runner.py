"""`valr-monitor run`: composes the listener, leases, sessions, placement, polls and cancels.

Every wake-up (a NOTIFY, or the periodic catch-up) runs one tick: heartbeat, renew and take leases,
then ask the database what is due — pending orders to place, polls, cancels, lost placements — and
hand each to the subaccount's session or to a REST lookup. The database decides; this only routes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections import defaultdict
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool

from worker.config import WorkerSettings
from worker.daemon.listener import Listener
from worker.daemon.lookups import Lookups
from worker.daemon.pairs import load_rules, refresh_pairs
from worker.daemon.fallback import FallbackTimer
from worker.daemon.prices import PriceWatch
from worker.daemon.session import SubaccountSession, backoff
from worker.db.pool_check import CheckWhenIdle
from worker.db.store import Store
from worker.logs import event
from worker.valr import RateLimited, TransportError, ValrClient, ValrError

log = logging.getLogger("worker.runner")

HEARTBEAT_EVERY_S = 5.0  # well inside the alert's 90 s and the lease TTL
MISSING_FILLS_EVERY_S = 30.0
PAIR_REFRESH_ASK_EVERY_S = 300.0  # how often to ask the database whether the pair rules are due


class Runner:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.wake = asyncio.Event()
        self.stopping = False
        self.sessions: dict[UUID, SubaccountSession] = {}
        self.seen_accounts: set[UUID] = set()     # accounts this process has opened a session for
        self.work: dict[UUID, dict] = {}          # last account_work() snapshot
        self.in_flight: set[UUID] = set()         # orders whose placement request is under way
        self.tasks: set[asyncio.Task] = set()
        self.busy: set[tuple[str, UUID]] = set()  # (kind, id) being handled, to not double up
        self.lookup_backoff: dict[UUID, tuple[int, float]] = {}  # lost placement -> (attempts, next at)
        self.last_lease_renewal = time.monotonic()
        self.last_heartbeat = float("-inf")
        self.last_fills_check = float("-inf")
        self.last_pairs_check = float("-inf")
        self.held: set[UUID] = set()              # subaccounts leased at the last renewal

    # -- lifecycle ------------------------------------------------------------------------------
    async def run(self) -> int:
        s = self.settings
        check = CheckWhenIdle()
        self.pool = AsyncConnectionPool(s.database_url, min_size=2, max_size=10, open=False, name="valr-monitor",
                                        check=check.check, reset=check.reset,
                                        kwargs={"autocommit": True, "application_name": "valr-monitor-worker"})
        await self.pool.open(wait=True, timeout=30)
        self.store = Store(self.pool, s.worker_id)
        self.client = ValrClient(s.valr_base_url, s.credentials, requests_per_minute=s.requests_per_minute)
        self.lookups = Lookups(self.client, self.store)
        self.listener = Listener(s.database_url, self.wake, timeout_s=s.catch_up_s)
        self.prices = PriceWatch(self)
        self.fallbacks = FallbackTimer(self)
        self._install_signal_handlers()
        try:
            skew = await self._check_clock()
            await self._refresh_pairs(at_start=True)
            event(log, "worker started", worker=s.worker_id, clock_skew_s=round(skew, 3),
                  max_session_s=s.max_session_s)
            listener_task = asyncio.create_task(self.listener.run(), name="listener")
            prices_task = asyncio.create_task(self.prices.run(), name="prices")
            fallbacks_task = asyncio.create_task(self.fallbacks.run(), name="fallbacks")
            await self._loop()
            self.listener.stopping = True
            listener_task.cancel()
            await self.prices.stop()
            prices_task.cancel()
            self.fallbacks.stop()
            fallbacks_task.cancel()
            await self._shutdown()
        finally:
            await self.client.aclose()
            await self.pool.close()
        return 0

    async def _check_clock(self) -> float:
        """Refuse to run on clock skew (ClockSkewError propagates); retry while VALR cannot answer."""
        attempt = 0
        while True:
            try:
                return await self.client.check_clock(self.settings.max_clock_skew_s)
            except (TransportError, RateLimited) as exc:
                attempt += 1
                event(log, "cannot read VALR's clock yet; retrying", logging.WARNING, error=str(exc)[:200])
                await asyncio.sleep(backoff(attempt, base=1.0, cap=30.0))

    async def _refresh_pairs(self, at_start: bool = False) -> None:
        """At start, then whenever lth_pvr.pair_refresh_due says so (daily by default). A refresh that
        fails leaves the rules held; the database keeps refusing what they refuse."""
        if not at_start and time.monotonic() - self.last_pairs_check < PAIR_REFRESH_ASK_EVERY_S:
            return
        self.last_pairs_check = time.monotonic()
        try:
            if at_start or await self.store.pair_refresh_due():
                await refresh_pairs(self.client, self.store)
        except (TransportError, RateLimited, ValrError, psycopg.Error) as exc:
            event(log, "could not refresh pair rules from VALR; keeping those held", logging.WARNING,
                  error=str(exc).strip()[:200])
        await load_rules(self.client, self.store)

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)

    def request_stop(self) -> None:
        if not self.stopping:
            event(log, "stopping: no new claims; finishing the frames in hand")
        self.stopping = True
        self.wake.set()

    async def _loop(self) -> None:
        attempt = 0
        interval = min(self.settings.catch_up_s, self.settings.lease_ttl_s / 3)
        while not self.stopping:
            try:
                await self.tick()
                attempt = 0
            except Exception as exc:  # database down, or a bug: log it, back off, ask again
                attempt += 1
                if isinstance(exc, (psycopg.Error, OSError)):
                    event(log, "tick failed; retrying", logging.WARNING, error=str(exc).strip()[:200])
                else:
                    log.exception("tick failed unexpectedly; retrying")
                await self._drop_sessions_if_lease_unrenewable()
                await asyncio.sleep(backoff(attempt, base=0.5, cap=5.0))
                continue
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()

    async def _shutdown(self) -> None:
        await asyncio.gather(*(s.stop("shutdown") for s in self.sessions.values()), return_exceptions=True)
        pending = [s.task for s in self.sessions.values() if s.task] + list(self.tasks)
        if pending:
            await asyncio.wait(pending, timeout=15)
        try:
            await self.store.stopped()  # releases this worker's leases
        except psycopg.Error as exc:
            event(log, "could not record stop; leases will expire", logging.WARNING, error=str(exc))
        event(log, "worker stopped", worker=self.settings.worker_id)

    # -- one tick -------------------------------------------------------------------------------
    async def tick(self) -> None:
        # Pending orders of subaccounts already leased go first: an INSERT's NOTIFY should reach
        # VALR after one round trip, not after the bookkeeping below.
        await self._place_pending()
        self.prices.poke()  # orders changed: the pairs that need live prices may have too
        self.fallbacks.poke()  # and the next age fallback's due time
        await self._heartbeat()
        taken = await self._renew_leases()
        self.work = {w["exchange_account_id"]: w for w in await self.store.account_work()}
        self._reap_sessions()
        self._open_sessions_with_work()
        if taken:
            await self._place_pending()
        await self._send_cancels()
        await self._run_due_polls()
        await self._resolve_lost_placements()
        await self._refetch_missing_fills()
        await self._refresh_pairs()

    async def _heartbeat(self) -> None:
        """At most every few seconds: a NOTIFY storm must not become a heartbeat storm."""
        # Other workers count this one live by its heartbeat (fair lease shares): stay within a TTL.
        if time.monotonic() - self.last_heartbeat >= min(HEARTBEAT_EVERY_S, self.settings.lease_ttl_s / 3):
            await self.store.heartbeat(socket.gethostname(), os.getpid())
            self.last_heartbeat = time.monotonic()

    async def _renew_leases(self) -> bool:
        """Renew and take leases; close the sockets of any lost. True when a lease was taken."""
        leases = await self.store.acquire_leases(self.settings.lease_ttl_s)
        self.last_lease_renewal = time.monotonic()
        held = {row["exchange_account_id"] for row in leases}
        for account_id, session in list(self.sessions.items()):
            if account_id not in held:
                event(log, "lease lost; closing its socket", subaccount=session.subaccount_id)
                await session.stop("lease_lost")
                del self.sessions[account_id]
        # A subaccount leased again later is recovered afresh: open orders get a session and a
        # reconciliation (another worker may have watched it meanwhile).
        self.seen_accounts -= self.held - held
        taken = held - self.held
        for row in leases:
            if row["exchange_account_id"] in taken:
                event(log, "lease taken", subaccount=row["subaccount_id"])
        self.held = held
        return bool(taken)

    async def _drop_sessions_if_lease_unrenewable(self) -> None:
        """A lease that cannot be renewed may be taken by another worker: close those sockets at once."""
        if time.monotonic() - self.last_lease_renewal > self.settings.lease_ttl_s * 0.8:
            for account_id, session in list(self.sessions.items()):
                await session.stop("lease_unrenewable")
                del self.sessions[account_id]

    def _reap_sessions(self) -> None:
        for account_id, session in list(self.sessions.items()):
            if session.done:
                del self.sessions[account_id]

    def _open_sessions_with_work(self) -> None:
        """A session opens for new orders, unwatched ones, cancels, and — once per process — any open
        order (a restart). After --max-session it stays closed until new work arrives."""
        for account_id, w in self.work.items():
            if account_id in self.sessions:
                continue
            fresh = w["pending_orders"] + w["unmonitored_orders"] + w["cancels_requested"] > 0
            recovering = account_id not in self.seen_accounts and w["placing_orders"] + w["submitted_orders"] > 0
            if fresh or recovering:
                self.ensure_session(account_id, w["subaccount_id"])

    def ensure_session(self, account_id: UUID, subaccount_id: str) -> SubaccountSession:
        session = self.sessions.get(account_id)
        if session is None or session.done or session.stop_reason:
            session = SubaccountSession(self, account_id, subaccount_id)
            self.sessions[account_id] = session
            self.seen_accounts.add(account_id)
            session.start()
        return session

    async def work_of(self, account_id: UUID) -> dict | None:
        rows = await self.store.account_work(account_id)
        if rows:
            self.work[account_id] = rows[0]
        return rows[0] if rows else None

    async def _place_pending(self) -> None:
        if self.stopping:
            return
        claimed = await self.store.claim_pending_orders(None, 500)
        by_account: dict[UUID, list[dict]] = defaultdict(list)
        for order in claimed:
            by_account[order["exchange_account_id"]].append(order)
        for account_id, orders in by_account.items():
            # In flight from the claim on: no lost-placement lookup races a request still waiting.
            self.in_flight.update(o["exchange_order_id"] for o in orders)
            session = self.ensure_session(account_id, orders[0]["subaccount_id"])
            self.spawn(session.place(orders), "place")

    async def _send_cancels(self) -> None:
        for order in await self.store.claim_cancel_requests():
            self.ensure_session(order["exchange_account_id"], order["subaccount_id"])
            self.spawn(self.lookups.cancel(order), "cancel")

    async def _run_due_polls(self) -> None:
        due = await self.store.claim_due_polls(500)
        by_account: dict[UUID, list[dict]] = defaultdict(list)
        for order in due:
            by_account[order["exchange_account_id"]].append(order)
        for account_id, orders in by_account.items():
            if ("poll", account_id) in self.busy:
                continue
            self.spawn(self.lookups.poll_account(account_id, orders[0]["subaccount_id"], orders),
                       "poll", key=("poll", account_id))

    async def _resolve_lost_placements(self) -> None:
        """Look each lost placement up by customerOrderId, spaced out per order (2, 4, 8 … 30 s): the
        REST budget is shared with placements, and the grace period is long."""
        now = time.monotonic()
        unresolved = await self.store.unresolved_placements(self.settings.placement_lookup_after_s)
        current = {o["exchange_order_id"] for o in unresolved}
        for order_id in list(self.lookup_backoff):
            if order_id not in current:
                del self.lookup_backoff[order_id]
        for order in unresolved:
            order_id = order["exchange_order_id"]
            key = ("placement", order_id)
            attempts, next_at = self.lookup_backoff.get(order_id, (0, 0.0))
            if order_id in self.in_flight or key in self.busy or now < next_at:
                continue
            self.lookup_backoff[order_id] = (attempts + 1, now + min(30.0, 2.0 * 2 ** attempts))
            self.spawn(self.lookups.resolve_placement(order), "resolve_placement", key=key)

    async def _refetch_missing_fills(self) -> None:
        """Finished orders VALR says executed more than we hold in fills: fetch their trades again.
        Asked at most every MISSING_FILLS_EVERY_S; SQL spaces out each order's retries."""
        if time.monotonic() - self.last_fills_check < MISSING_FILLS_EVERY_S:
            return
        self.last_fills_check = time.monotonic()
        for order in await self.store.claim_missing_fills():
            self.spawn(self.lookups.fetch_fills(order), "refetch_fills")

    # -- background tasks -----------------------------------------------------------------------
    def spawn(self, coro, name: str, key: tuple[str, UUID] | None = None) -> asyncio.Task:
        task = asyncio.create_task(self._guarded(coro, name, key), name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _guarded(self, coro, name: str, key: tuple[str, UUID] | None) -> None:
        if key:
            self.busy.add(key)
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one failed task must not stop the worker; the DB still holds the truth
            event(log, f"{name} failed", logging.WARNING, error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            if key:
                self.busy.discard(key)
