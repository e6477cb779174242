"""`valr-monitor run`: composes the listener, leases, sessions, placement, polls and cancels.

Every wake-up (a NOTIFY, or the periodic catch-up) runs one tick: heartbeat, renew and take leases,
then ask the database what is due — pending orders to place, sessions to open, polls, cancels, lost
placements — and hand each to the subaccount's session or to a REST lookup. The database decides
(account_work says which subaccounts want a session; claim_* functions space out retries); this
only routes. Its own state is what only this process can know: its open sockets, and the orders
whose placement request it has under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import defaultdict
from collections.abc import Awaitable, Coroutine, Sequence
from dataclasses import replace
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from worker.config import WorkerSettings
from worker.daemon import identity
from worker.daemon.backoff import backoff, pause
from worker.daemon.clock import ClockWatch
from worker.daemon.context import WatchContext
from worker.daemon.dbhealth import DatabaseHealth
from worker.daemon.listener import Listener
from worker.daemon.lookups import Lookups
from worker.daemon.fallback import FallbackTimer, MarketLookupTimer
from worker.daemon.fallbacks_first import FallbacksFirst
from worker.daemon.heap import HeapKeeper
from worker.daemon.audit import run_audit
from worker.daemon.accounts import ExchangeAccounts
from worker.daemon.exchange_prices import ExchangePriceWatch
from worker.daemon.exchange_session import ExchangeSession
from worker.daemon.ledger import sync_across, sync_exchange_ledger, sync_ledger
from worker.daemon.pairs import load_rules, refresh_pairs
from worker.daemon.prices import PriceWatch
from worker.daemon.registry import SessionRegistry
from worker.daemon.session import SessionContext, SubaccountSession
from worker.daemon.tasks import Supervisor, Tasks
from worker.db.pool_check import CheckWhenIdle, HotFirstPool, warm_up
from worker.db.preflight import StartupError, check_worker_database
from worker.db.store import Store
from worker.exchanges.credentials import CredentialMissing, NEVER_A_FLAG, valr_required
from worker.logs import event
from worker.valr import AuthenticationError, RateLimited, TransportError, ValrClient, ValrError

log = logging.getLogger("worker.runner")
# What the log says of each reason lease_ended_why gives: nothing open is routine; work moving between
# workers is said (handed back: beyond this worker's fair share, for a worker that joined to take).
LEASE_ENDED = {
    "nothing_open": (logging.DEBUG, "lease released: nothing open"),
    "taken": (logging.INFO, "lease taken by another worker"),
    "handed_back": (logging.INFO, "lease handed back (fair share among workers)"),
}

HEARTBEAT_EVERY_S = 5.0  # well inside the alert's 90 s and the lease TTL
MISSING_FILLS_EVERY_S = 30.0
ACROSS = UUID(int=0)  # the task key of the across-subaccount ledger sync: one at a time per worker
LEDGER_YIELD_S = 30.0  # a ccxt account's ledger read waits this long at most for its session to settle
LEDGER_CLAIM_EVERY_S = 30.0  # ledger syncs due by time are claimed this often; a NOTIFY asks at once
PAIR_REFRESH_ASK_EVERY_S = 300.0  # how often to ask the database whether the pair rules are due
# The pool gives up a reconnection attempt after this long and starts a fresh one (first retry after
# 1 s) when the next tick asks: psycopg_pool doubles its delay without a cap, so after a long outage
# its next attempt could otherwise come a minute after the database is back.
POOL_RECONNECT_TIMEOUT_S = 10.0
SHUTDOWN_DB_WAIT_S = 5.0  # recording the stop must not hold a shutdown while the database is away
TICK_GRACE_AT_STOP_S = 5.0  # a tick under way when SIGTERM comes may finish; one stuck on the database not

POOL_OPEN_TIMEOUT_S = 30.0  # no connection at start within this: DatabaseUnavailable, one line
# The worker's connections: two to start with, then every one opened (and warmed: pool_check.warm_up)
# in the background. A pool that grew only under load opened them one at a time, cold, in the first
# burst of work — a fallback's first round waited for them (figure 8's first round, docs/performance.md).
POOL_START_SIZE, POOL_SIZE = 2, 10

T = TypeVar("T")


class StopRequested(Exception):
    """SIGTERM/SIGINT arrived while the worker was still starting."""


class DatabaseUnavailable(Exception):
    """The worker could not get its first database connections: a start error, said in one line."""


async def after(previous: asyncio.Task | None, work: Coroutine[Any, Any, Any]) -> None:
    """`work` once `previous` (if any) has finished, however it ended."""
    if previous is not None and not previous.done():
        await asyncio.wait({previous})
    await work


class Runner:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.wake = asyncio.Event()
        self.stop_requested = asyncio.Event()
        self.sessions = SessionRegistry(self._new_session, failed=self._session_failed)  # tick, watcher, place_now
        self.tasks = Tasks()
        self.supervisor = Supervisor(self.stop_requested, self._record_task_failure)
        self.db = DatabaseHealth()  # said once per change: reachable, unreachable
        self.db_problem: str | None = None  # at start: what the database said last while not ready
        self.in_flight: set[UUID] = set()  # orders claimed for placement whose request is under way
        self.last_lease_renewal = time.monotonic()
        self.renewing = asyncio.Lock()  # the tick's renewal and the lease watcher's, one at a time
        self.lease_store: Store | None = None  # heartbeat and leases on their own connection (run())
        self.last_heartbeat = float("-inf")
        self.last_fills_check = float("-inf")
        self.last_ledger_claim = float("-inf")
        self.ledger_syncs: dict[UUID, asyncio.Task] = {}  # each account's latest sync task (one at a time)
        self.last_pairs_check = float("-inf")
        self.key_refused_at: float | None = None  # VALR refused the API key: nothing is placed
        self.leased: set[UUID] = set()            # the accounts whose lease this worker held at the last renewal
        self.valr_used = True                     # a VALR account uses VALR_API_KEY (or no account exists yet)
        self.exchange_prices: dict[str, ExchangePriceWatch] = {}  # ccxt exchanges' price watches
        self.placing_now: asyncio.Task | None = None  # place_now's claimer, while it runs
        self.place_again = False                  # a NOTIFY came while it was claiming
        self.fallbacks_first = FallbacksFirst()   # fallbacks whose cancels left: the tick waits for them

    @property
    def stopping(self) -> bool:
        return self.stop_requested.is_set()

    # -- lifecycle ------------------------------------------------------------------------------
    async def run(self) -> int:
        s = self.settings
        self._install_signal_handlers()
        try:  # a wrong URL, password or role: one line, exit 2; a database not ready yet: waited for
            await self._unless_stopping(check_worker_database(s.database_url, waiting=self._database_not_ready))
        except StopRequested:
            event(log, "stopped while starting", worker=s.worker_id)
            return 0
        if self.db.down:
            self.db.ok()
        check = CheckWhenIdle()
        self.pool = HotFirstPool(s.database_url, min_size=POOL_START_SIZE, max_size=POOL_SIZE, open=False,
                                 name="valr-monitor", configure=warm_up, check=check.check, reset=check.reset,
                                 reconnect_timeout=POOL_RECONNECT_TIMEOUT_S,
                                 kwargs={"autocommit": True, "application_name": "valr-monitor-worker"})
        self.store = Store(self.pool, s.worker_id)
        # Heartbeat and lease renewal on a connection of their own: never queued behind the sessions'
        # recording (2,000 sockets' frames can hold every pooled connection for longer than a lease).
        self.lease_pool = AsyncConnectionPool(s.database_url, min_size=1, max_size=1, open=False,
                                              name="valr-monitor-leases", check=CheckWhenIdle().check,
                                              reconnect_timeout=POOL_RECONNECT_TIMEOUT_S,
                                              kwargs={"autocommit": True, "application_name": "valr-monitor-leases"})
        self.lease_store = Store(self.lease_pool, s.worker_id)
        self.client = ValrClient(s.valr_base_url, s.credentials, requests_per_minute=s.requests_per_minute)
        self.lookups = Lookups(self.client, self.store)
        self.accounts = ExchangeAccounts(self.store, s.env, s.exchange_base_urls, s.valr_base_url, s.requests_per_minute,
                                         s.exchange_rate_limits)
        self.clock = ClockWatch(self.client, self.store, s.max_clock_skew_s, self.wake)
        self.session_context = SessionContext.of(s, self.store, self.client, self.lookups, self.tasks.spawn,
                                                 key_refused=self.key_refused, clock=self.clock, db=self.db,
                                                 hand_over=self._place_handed_over, fallbacks=self.fallbacks_first)
        self.listener = Listener(s.database_url, self.wake, timeout_s=s.catch_up_s, on_pending=self.place_now,
                                 on_ledger=self.ledger_sync_now)
        watch = WatchContext(store=self.store, db=self.db, send_cancels_now=self.send_cancels_now, wake=self.wake.set,
                             client=self.client, valr_base_url=s.valr_base_url, credentials=s.credentials)
        self.watch = watch
        self.prices = PriceWatch(watch)
        self.fallbacks = FallbackTimer(watch)
        self.market_lookups = MarketLookupTimer(watch)
        self.heap = HeapKeeper(self.sessions, self.stop_requested)
        try:
            await self._unless_stopping(self._open_pool())
            await self._unless_stopping(self._read_database_settings())
            await self._unless_stopping(self._resolve_accounts())
            skew = await self._unless_stopping(self._check_clock()) if self.valr_used else None
            if self.valr_used:
                await self._unless_stopping(self._check_credentials())
            await self._unless_stopping(self._take_back_leases())
            # The start's clock check, recorded: a refusal an earlier process of this id left no longer
            # holds placement back (claim_pending_orders reads workers.clock_refused_at).
            await self._unless_stopping(self.store.record_clock_check(skew, False))
            await self._unless_stopping(self._refresh_pairs(at_start=True))
            event(log, "worker started", worker=s.worker_id, clock_skew_s=None if skew is None else round(skew, 3),
                  max_session_s=s.max_session_s)
            background = [self.supervisor.start("listener", self.listener.run),
                          self.supervisor.start("lease_watch", self._watch_lease_renewal),
                          self.supervisor.start("prices", self.prices.run),
                          self.supervisor.start("fallbacks", self.fallbacks.run),
                          self.supervisor.start("market_lookups", self.market_lookups.run),
                          self.supervisor.start("heap", self.heap.run)]
            background += [self.supervisor.start(f"prices_{name}", watch.run)
                           for name, watch in self.exchange_prices.items()]
            await self._loop()
            self.listener.stopping = True
            await self.prices.stop()
            self.fallbacks.stop()
            self.market_lookups.stop()
            for watch in self.exchange_prices.values():
                await watch.stop()
            for task in background:
                task.cancel()
            await self._shutdown()
        except StopRequested:
            event(log, "stopped while starting", worker=s.worker_id)
        finally:
            await self.client.aclose()
            await self.accounts.aclose()
            await self.pool.close()
            await self.lease_pool.close()
        return 0

    async def _read_database_settings(self) -> None:
        """The lease TTL and the connection budget are lth_pvr.settings; a flag given wins (--lease-ttl)."""
        row = await self.store.worker_settings()
        self.settings = replace(self.settings,
                                lease_ttl_s=self.settings.lease_ttl_s or row["lease_ttl_seconds"],
                                ws_connects_per_minute=self.settings.ws_connects_per_minute
                                or row["ws_connects_per_minute"])
        self.session_context = replace(self.session_context,
                                       ws_connects_per_minute=self.settings.ws_connects_per_minute)
        event(log, "settings", lease_ttl_s=self.settings.lease_ttl_s,
              ws_connects_per_minute=self.settings.ws_connects_per_minute)

    def _database_not_ready(self, problem: str, attempt: int) -> None:
        """At start: one line when the database is first (or differently) not ready, then DEBUG."""
        if problem != self.db_problem:
            self.db_problem = problem
            self.db.down_since = self.db.down_since or time.monotonic()
            event(log, "waiting for PostgreSQL to accept connections", logging.WARNING, problem=problem)
        else:
            event(log, "PostgreSQL not ready yet", logging.DEBUG, attempt=attempt)

    async def _record_task_failure(self, task: str, error: str) -> None:
        await self.store.record_task_failure(task, error)

    async def _unless_stopping(self, work: Awaitable[T], grace_s: float = 0.0) -> T:
        """Await `work`, unless a stop is requested first and `work` does not end within `grace_s`
        after it: then cancel it and raise StopRequested."""
        task = asyncio.ensure_future(work)
        stop = asyncio.create_task(self.stop_requested.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not task.done() and grace_s > 0:
            await asyncio.wait({task}, timeout=grace_s)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise StopRequested
        return task.result()

    async def _open_pool(self) -> None:
        try:
            await self.pool.open(wait=True, timeout=POOL_OPEN_TIMEOUT_S)
            await self.lease_pool.open(wait=True, timeout=POOL_OPEN_TIMEOUT_S)
            await self.pool.resize(POOL_SIZE, POOL_SIZE)  # the rest opened in the background, warmed
        except PoolTimeout:
            raise DatabaseUnavailable(
                f"no PostgreSQL connection within {POOL_OPEN_TIMEOUT_S:g} s: the server is unreachable or has no "
                f"free connection (max_connections, or the role's CONNECTION LIMIT, reached)") from None

    async def _resolve_accounts(self) -> None:
        """Every account's exchange and credential, before anything is placed: a missing credential
        refuses the start in one line naming the account and the variable (StartupError, exit 2).
        VALR_API_KEY is required when a VALR account uses it, or when no account exists yet."""
        rows = await self.accounts.load()
        self.valr_used = valr_required(rows)
        try:
            if self.valr_used:
                for name, value in (("VALR_API_KEY", self.settings.credentials.api_key),
                                    ("VALR_API_SECRET", self.settings.credentials.api_secret)):
                    if not value:
                        raise CredentialMissing(f"{name}: {NEVER_A_FLAG}")
            self.accounts.resolve_at_start(rows)
            await self.accounts.check_keys()
        except CredentialMissing as exc:
            raise StartupError(str(exc)) from None
        for exchange in sorted(self.accounts.ccxt_exchanges()):
            self._watch_prices_of(exchange)

    def _watch_prices_of(self, exchange: str) -> None:
        if exchange not in self.exchange_prices:
            self.exchange_prices[exchange] = ExchangePriceWatch(self.watch, self.accounts.public_adapter(exchange))

    async def _check_clock(self) -> float:
        """Refuse to run on clock skew (ClockSkewError propagates); retry while VALR cannot answer."""
        attempt = 0
        while True:
            try:
                return await self.client.check_clock(self.settings.max_clock_skew_s)
            except (TransportError, RateLimited) as exc:
                attempt += 1
                event(log, "cannot read VALR's clock yet; retrying", logging.WARNING, error=str(exc)[:200])
                if await pause(backoff(attempt, base=1.0, cap=30.0), self.stop_requested):
                    raise StopRequested

    async def _refresh_pairs(self, at_start: bool = False) -> None:
        """At start, then whenever lth_pvr.pair_refresh_due says so (daily by default). A refresh that
        fails leaves the rules held; the database keeps refusing what they refuse."""
        if not at_start and time.monotonic() - self.last_pairs_check < PAIR_REFRESH_ASK_EVERY_S:
            return
        self.last_pairs_check = time.monotonic()
        try:
            due = at_start or await self.store.pair_refresh_due()
            if due and self.valr_used:
                await refresh_pairs(self.client, self.store)
        except (TransportError, RateLimited, ValrError, psycopg.Error) as exc:
            due = at_start
            event(log, "could not refresh pair rules from VALR; keeping those held", logging.WARNING,
                  error=str(exc).strip()[:200])
        if due:
            for exchange in sorted(self.accounts.ccxt_exchanges()):
                await self._refresh_exchange_pairs(exchange)
        await load_rules(self.client, self.store)

    async def _refresh_exchange_pairs(self, exchange: str) -> None:
        """ccxt's load_markets (spot, as tick sizes) → refresh_exchange_pairs; a failure keeps the rules held."""
        try:
            result = await self.store.refresh_exchange_pairs(exchange,
                                                             await self.accounts.public_adapter(exchange).markets())
            event(log, "pair rules refreshed", exchange=exchange, **(result or {}))
        except (TransportError, RateLimited, ValrError, psycopg.Error) as exc:
            event(log, "could not refresh pair rules; keeping those held", logging.WARNING, exchange=exchange,
                  error=str(exc).strip()[:200])

    async def _check_credentials(self) -> None:
        """A signed read-only request before anything is placed: a key VALR refuses stops the start
        (StartupError, exit 2) instead of failing every order. VALR unreachable: the clock check
        above already waited for it; a later transport error is left to the sessions."""
        try:
            await self.client.check_credentials()
        except AuthenticationError as exc:
            raise StartupError(f"VALR_API_KEY: VALR refused the key ({exc.status} {exc.message.strip()}): "
                               "check VALR_API_KEY and VALR_API_SECRET (a primary-account key with View and "
                               "Trade permissions)") from None
        except (TransportError, RateLimited) as exc:
            event(log, "could not check the API key yet; the first signed request will", logging.WARNING,
                  error=str(exc)[:200])

    async def _take_back_leases(self) -> None:
        """Record this start (a restart under the same --worker-id recovers its leases in SQL), and take
        the leases of workers that died on this host at once (their pids are gone); say why it waits
        for any other worker's leases."""
        others = await self.store.started(identity.host(), os.getpid(), identity.pid_namespace())
        # --max-session 0: SQL leases every account and keeps each one's socket open, orders or not.
        await self.store.record_persistent_sessions(self.settings.max_session_s == 0)
        dead = [w for w in others if w["same_namespace"] and not identity.pid_alive(w["pid"])]
        taken = {row["worker_id"]: row for row in await self.store.take_over_dead_workers(dead)} if dead else {}
        for w in others:
            if w["worker_id"] in taken:
                event(log, "took over the leases of a dead worker on this host", worker=w["worker_id"],
                      pid=w["pid"], leases=taken[w["worker_id"]]["leases"])
            elif w["leases"]:
                event(log, "waiting for another worker's leases to expire", logging.WARNING, worker=w["worker_id"],
                      leases=w["leases"], expires_at=w["leases_expire_at"].isoformat(), why=self._why_wait(w))

    @staticmethod
    def _why_wait(w: dict) -> str:
        if w["host"] != identity.host():
            return f"it runs on host {w['host']}: its process cannot be seen from here"
        if not w["same_namespace"]:
            return ("its PID namespace or boot differs (another container?): pass a stable --worker-id to take "
                    "leases back at once after a restart")
        return f"its process (pid {w['pid']}) is alive"

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)

    def request_stop(self) -> None:
        if not self.stopping:
            event(log, "stopping: no new claims; finishing the frames in hand")
        self.stop_requested.set()
        self.wake.set()

    async def _loop(self) -> None:
        attempt = 0
        interval = min(self.settings.catch_up_s, self.settings.lease_ttl_s / 3)
        while not self.stopping:
            try:
                await self.fallbacks_first.after_fallbacks()  # at most HOLD_MAX_S
                await self._unless_stopping(self.tick(), grace_s=TICK_GRACE_AT_STOP_S)
                attempt = 0
                self.db.ok()
            except StopRequested:
                event(log, "stopping: abandoned a tick the database did not answer", logging.WARNING)
                return
            except Exception as exc:  # database down, or a bug: log it, back off, ask again
                attempt += 1
                if isinstance(exc, (psycopg.Error, PoolTimeout)):
                    self.db.failed("tick", exc)
                elif isinstance(exc, OSError):
                    event(log, "tick failed; retrying", logging.WARNING, error=str(exc).strip()[:200])
                else:
                    await self.supervisor.failed("tick", exc)
                await pause(backoff(attempt, base=0.5, cap=5.0), self.stop_requested)
                continue
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()

    async def _shutdown(self) -> None:
        sessions = self.sessions.detach_all()
        await asyncio.gather(*(s.stop("shutdown") for s in sessions), return_exceptions=True)
        pending = [s.task for s in sessions if s.task] + list(self.tasks.running)
        if pending:
            await asyncio.wait(pending, timeout=15)
        try:
            await asyncio.wait_for(self.store.stopped(), SHUTDOWN_DB_WAIT_S)  # releases this worker's leases
        except (psycopg.Error, asyncio.TimeoutError) as exc:
            event(log, "could not record stop; leases will expire", logging.WARNING, error=str(exc) or "timeout")
        event(log, "worker stopped", worker=self.settings.worker_id)

    # -- one tick -------------------------------------------------------------------------------
    async def tick(self) -> None:
        if not self.clock.ok.is_set():
            await self.clock.check()  # placing resumes once VALR accepts our timestamps again
        # Pending orders of subaccounts already leased go first: an INSERT's NOTIFY should reach
        # VALR after one round trip, not after the bookkeeping below.
        await self._place_pending()
        self.prices.poke()  # orders changed: the pairs that need live prices may have too
        for watch in self.exchange_prices.values():
            watch.poke()
        self.fallbacks.poke()  # and the next age fallback's due time
        self.market_lookups.poke()  # and the next market order's lookup
        async with self.renewing:
            await self._heartbeat()
            taken = await self._renew_leases()
        await self._learn_accounts()
        await self._open_sessions_sql_wants()
        if taken:
            await self._place_pending()
        await self._send_cancels()
        await self._run_due_polls()
        await self._resolve_lost_placements()
        await self._refetch_missing_fills()
        await self._sync_ledgers()
        await self._refresh_pairs()
        await self._recheck_refused_key()

    async def _heartbeat(self) -> None:
        """At most every few seconds: a NOTIFY storm must not become a heartbeat storm."""
        # Other workers count this one live by its heartbeat (fair lease shares): stay within a TTL.
        if time.monotonic() - self.last_heartbeat >= min(HEARTBEAT_EVERY_S, self.settings.lease_ttl_s / 3):
            await self.lease_store.heartbeat(identity.host(), os.getpid())
            self.last_heartbeat = time.monotonic()

    async def _renew_leases(self) -> bool:
        """Renew and take leases; close the sockets of any lost. True when a lease was taken."""
        leases = await self.lease_store.acquire_leases(self.settings.lease_ttl_s)
        self.last_lease_renewal = time.monotonic()
        held = {row["exchange_account_id"] for row in leases}
        self.leased = held
        gone = [(account_id, session) for account_id, session in self.sessions.items() if account_id not in held]
        if gone:
            try:  # only for the log: the sockets close whatever the answer
                whys = await self.lease_store.lease_ended_why([account_id for account_id, _ in gone])
            except (psycopg.Error, PoolTimeout):
                whys = {}
            for account_id, session in gone:
                self._log_lease_gone(whys.get(account_id), session.subaccount_id)
                await self.sessions.stop(account_id, session, "lease_lost")
        taken = [row for row in leases if row["taken"]]
        for row in taken:
            event(log, "lease taken", subaccount=row["subaccount_id"])
        return bool(taken)

    async def _learn_accounts(self) -> None:
        """Accounts leased that the start did not know: their exchange and credential, now; a new
        exchange's pair rules are read and its price watch starts with them. In the tick, after the
        lease round (never under its lock: an exchange's answer must not hold the leases up)."""
        await self.accounts.resolve_new(self.leased)  # (those already known: nothing asked)
        for exchange in sorted(self.accounts.ccxt_exchanges() - set(self.exchange_prices)):
            await self._refresh_exchange_pairs(exchange)
            await load_rules(self.client, self.store)
            self._watch_prices_of(exchange)
            self.supervisor.start(f"prices_{exchange}", self.exchange_prices[exchange].run)

    async def _renew_apart(self) -> None:
        """The tick's heartbeat and lease renewal, on the lease connection, while the tick is held up."""
        try:
            async with self.renewing:
                await self._heartbeat()
                if await self._renew_leases():
                    self.wake.set()  # a lease taken: the tick places its pending orders
        except (psycopg.Error, PoolTimeout) as exc:
            self.db.failed("lease renewal", exc)

    @staticmethod
    def _log_lease_gone(why: str | None, subaccount_id: str) -> None:
        """Why the lease ended, as SQL tells it (lease_ended_why); None when the question failed."""
        level, said = LEASE_ENDED.get(why, (logging.INFO, "lease no longer held"))
        event(log, f"{said}; closing its socket", level, subaccount=subaccount_id)

    async def _watch_lease_renewal(self) -> None:
        """A lease that cannot be renewed may be taken by another worker: close those sockets before
        it can expire, whatever the tick is doing (it may be waiting for the database). Once the
        database answers again, account_work has the subaccounts recovered (reopened and reconciled)
        if the leases are still, or again, this worker's."""
        ttl = self.settings.lease_ttl_s
        while not await pause(min(1.0, ttl / 10), self.stop_requested):
            late = time.monotonic() - self.last_lease_renewal
            if late > ttl / 3 and self.lease_store and not self.renewing.locked():  # a tick held up: renew apart
                self.tasks.spawn(self._renew_apart(), "lease_renewal")
            if self.sessions and late > ttl * 0.8:
                event(log, "leases not renewed in time; closing their sockets", logging.WARNING,
                      sessions=len(self.sessions))
                for account_id, session in self.sessions.items():
                    await self.sessions.stop(account_id, session, "lease_unrenewable")

    async def _open_sessions_sql_wants(self) -> None:
        self.sessions.prune_done()
        rows = await self.store.account_work()
        for work in rows:
            if work["wants_session"] and work["exchange_account_id"] not in self.accounts.unusable:
                self.ensure_session(work["exchange_account_id"], work["subaccount_id"])

    def ensure_session(self, account_id: UUID, subaccount_id: str) -> SubaccountSession:
        return self.sessions.ensure(account_id, subaccount_id)  # type: ignore[return-value]

    def _new_session(self, account_id: UUID, subaccount_id: str) -> SubaccountSession:
        """A VALR subaccount's socket, or ccxt's watch loops for an account on another exchange."""
        if self.accounts.is_ccxt(account_id):
            return ExchangeSession(self.accounts.context(account_id, self.session_context), account_id,
                                   subaccount_id, self.accounts.adapters[account_id])
        return SubaccountSession(self.accounts.context(account_id, self.session_context), account_id, subaccount_id)

    def _lookups(self, row: dict) -> Lookups:
        """The REST lookups of a claimed row's account (its exchange's adapter)."""
        return self.accounts.lookups(row["exchange_account_id"], self.lookups)

    def _session_failed(self, name: str, exc: BaseException) -> None:
        """A session's task ended with an error its own loop did not catch: reported like any supervised
        task; account_work has the tick open a new session for the subaccount."""
        self.tasks.spawn(self.supervisor.failed(name, exc), "report_task_failure")

    async def _place_pending(self) -> None:
        # While VALR refuses our timestamps (or our key) SQL claims nothing: orders stay pending, not failed.
        if self.stopping:
            return
        # Every account this worker may claim for is routed first (its exchange and key: a lease taken by
        # the lease round apart from the tick brings new ones); one whose credential is missing is left
        # alone: nothing of it is claimed. Only the accounts routed are named to SQL, never "all I lease":
        # a lease committed by a renewal still under way is SQL's before it is self.leased, and its new
        # account's order was claimed unrouted (then left `placing` until requeue_unsent_placements).
        await self.accounts.resolve_new(self.leased)
        claimed = await self.store.claim_pending_orders(self.accounts.usable(self.leased), 500)
        by_account: dict[UUID, list[dict]] = defaultdict(list)
        for order in claimed:
            by_account[order["exchange_account_id"]].append(order)
        # A backstop (nothing asked for accounts already known): a claimed order must never reach VALR's
        # session for want of its account's exchange. Unusable: left unsent; requeue_unsent_placements
        # puts it back, and nothing of it is claimed again.
        await self.accounts.resolve_new(by_account)
        for account_id, orders in by_account.items():
            if account_id in self.accounts.unusable:
                continue
            session = self.ensure_session(account_id, orders[0]["subaccount_id"])
            self.tasks.spawn(self._place(session, orders), "place")

    def place_now(self) -> None:
        """A NOTIFY says an order is pending (an INSERT, or a fallback's replacement as VALR confirms the
        cancel): claim and place it now, not after the rest of a tick under way. One claimer at a time;
        NOTIFYs meanwhile make it claim once more. The tick still claims first on every wake-up."""
        if self.placing_now is not None and not self.placing_now.done():
            self.place_again = True
            return
        self.placing_now = self.tasks.spawn(self._place_now(), "place_now")

    async def _place_now(self) -> None:
        self.place_again = True
        while self.place_again and not self.stopping:
            self.place_again = False
            await self._place_pending()

    def _place_handed_over(self, session: SubaccountSession, orders: list[dict]) -> None:
        """Orders SQL claimed for a session as it recorded a batch (a fallback's replacement): placed as
        the runner's own claims are, in flight until sent."""
        self.tasks.spawn(self._place(session, orders), "place")

    async def _place(self, session: SubaccountSession, orders: list[dict]) -> None:
        """In flight from the claim until the session has placed them: no lost-placement lookup races
        a request still waiting (for the socket, or for VALR's rate limit)."""
        ids = {o["exchange_order_id"] for o in orders}
        self.in_flight |= ids
        try:
            await session.place(orders)
        finally:
            self.in_flight -= ids

    async def _send_cancels(self) -> None:
        for order in await self.store.claim_cancel_requests():
            self.tasks.spawn(self._lookups(order).cancel(order), "cancel")

    def send_cancels_now(self, handed_over: Sequence[dict] = (), claim_rest: bool = True) -> None:
        """A fallback trigger fired (prices, the timer): the cancels SQL handed over as it fired them
        (hand_over_cancels: claimed, attempt stamped) leave at once; when it fired more than it handed
        over (`claim_rest`), the rest are claimed now, not after the tick's bookkeeping (heartbeat,
        leases, sessions), which may be waiting on the database, and the tick is woken too, as a
        backstop: claim_cancel_requests hands each cancel out once."""
        self.fallbacks_first.started(o["exchange_order_id"] for o in handed_over)
        for order in handed_over:  # each through its own account's exchange (an age fallback may be any's)
            self.tasks.spawn(self._lookups(order).cancel(order), "cancel")
        if claim_rest:
            self.tasks.spawn(self._send_cancels(), "send_cancels")
            self.wake.set()

    async def _run_due_polls(self) -> None:
        # An account's look-up still running: its orders are left unclaimed for a later tick (SQL).
        due = await self.store.claim_due_polls(500, self.tasks.busy_ids("poll"))
        by_account: dict[UUID, list[dict]] = defaultdict(list)
        for order in due:
            by_account[order["exchange_account_id"]].append(order)
        for account_id, orders in by_account.items():
            self.tasks.spawn(self._lookups(orders[0]).poll_account(account_id, orders[0]["subaccount_id"], orders),
                             "poll", key=("poll", account_id))

    async def _resolve_lost_placements(self) -> None:
        """Claims that never sent their request and whose claimer is gone go back to pending (SQL
        decides; its NOTIFY has them placed again); each lost placement is looked up by customerOrderId
        when SQL says its next lookup is due."""
        if requeued := await self.store.requeue_unsent_placements():
            event(log, "claims never sent go back to pending, to be placed again", orders=requeued)
        skip = self.in_flight | self.tasks.busy_ids("placement")
        for order in await self.store.claim_lost_placements(self.settings.placement_lookup_after_s, skip):
            self.tasks.spawn(self._lookups(order).resolve_placement(order), "resolve_placement",
                             key=("placement", order["exchange_order_id"]))

    async def _refetch_missing_fills(self) -> None:
        """Finished orders VALR says executed more than we hold in fills: fetch their trades again.
        Asked at most every MISSING_FILLS_EVERY_S; SQL spaces out each order's retries."""
        if time.monotonic() - self.last_fills_check < MISSING_FILLS_EVERY_S:
            return
        self.last_fills_check = time.monotonic()
        for order in await self.store.claim_missing_fills():
            self.tasks.spawn(self._lookups(order).fetch_fills(order), "refetch_fills")

    def ledger_sync_now(self) -> None:
        """lth_pvr_ledger_sync: a sync was asked for (a connect, a person, the pg_cron job); or
        lth_pvr_ledger_audit: the daily audit was."""
        self.last_ledger_claim = float("-inf")

    async def _sync_ledgers(self) -> None:
        """The account ledgers SQL says are due (any account, socket or not): read over REST. Asked on
        lth_pvr_ledger_sync and at most every LEDGER_CLAIM_EVERY_S otherwise, not on every order's wake-up."""
        if time.monotonic() - self.last_ledger_claim < LEDGER_CLAIM_EVERY_S:
            return
        self.last_ledger_claim = time.monotonic()
        if ACROSS not in self.tasks.busy_ids("ledger"):
            batch = await self.store.claim_ledger_batch()  # SQL: nothing unless several are due, primary key
            if batch:
                self.tasks.spawn(sync_across(self.client, self.store, batch), "ledger_sync", key=("ledger", ACROSS))
        for claim in await self.store.claim_ledger_syncs():
            await self._sync_account(claim)
        for run in await self.store.claim_ledger_audits():  # the daily audit (pg_cron's ledger_audit job)
            self.tasks.spawn(run_audit(self.client, self.store, run), "ledger_audit")

    async def _sync_account(self, claim: dict) -> None:
        """One account's claimed sync, by its exchange: VALR's reads, or its ccxt adapter's. SQL hands the
        account out again as soon as the previous sync's history is read, while that sync may still be
        reading its re-scan and balances: the new claim runs right after it. Skipped, it would hold the
        request until ledger_sync_claim_seconds."""
        account = claim["exchange_account_id"]
        if claim["exchange"] != "valr" and not self.accounts.is_ccxt(account):
            # its credential is missing (said at its resolution), or the account came after the start and
            # was never leased here (resolved at its first lease): nothing to read it with yet
            await self.store.record_ledger_sync_failed(
                account, self.accounts.unusable.get(account, "account not yet resolved by this worker"))
            return
        adapter = self.accounts.adapters.get(account)
        sync = sync_ledger(self.client, self.store, claim) if adapter is None \
            else sync_exchange_ledger(adapter, self.store, claim, self._settled(account))
        previous = self.ledger_syncs.get(account)
        task = self.tasks.spawn(after(previous, sync), "ledger_sync")
        self.ledger_syncs[account] = task
        task.add_done_callback(lambda done: self.ledger_syncs.pop(account, None)
                               if self.ledger_syncs.get(account) is done else None)

    def _settled(self, account: UUID):
        """What a ccxt account's ledger read waits for before each call: its session, if it has one and it
        is up to it, connected and reconciled; at most LEDGER_YIELD_S (an exchange down: read anyway)."""
        async def settled() -> None:
            session = self.sessions.get(account)
            if isinstance(session, ExchangeSession) and not session.done:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(session.settled.wait(), LEDGER_YIELD_S)
        return settled

    async def key_refused(self, reason: str, order_id: UUID | None = None) -> None:
        """VALR refused the API key: SQL stops this worker's placements and puts the refused and
        unsent orders back to pending (the auth_refused alert fires); the key is re-checked below."""
        back = await self.store.record_auth_refused(reason, order_id)
        if self.key_refused_at is None:
            event(log, "VALR refused the API key: placing nothing until it is accepted; orders stay pending",
                  logging.ERROR, reason=reason, back_to_pending=back)
        self.key_refused_at = time.monotonic()

    async def _recheck_refused_key(self) -> None:
        """A refused key is tried again (one signed GET) once per catch-up interval."""
        if self.key_refused_at is None or time.monotonic() - self.key_refused_at < self.settings.catch_up_s:
            return
        self.key_refused_at = time.monotonic()
        try:
            await self.client.check_credentials()
        except (AuthenticationError, TransportError, RateLimited) as exc:
            event(log, "API key still not accepted", logging.WARNING, error=str(exc)[:200])
            return
        await self.store.record_auth_accepted()
        self.key_refused_at = None
        event(log, "VALR accepts the API key again; placing resumes")
        self.wake.set()

