"""One subaccount's account WebSocket: opened and authenticated BEFORE its orders are placed, so no
fill happens unseen; frames that arrive together go to SQL in one record_batch call.

A session ends when SQL says its subaccount may close (nothing open any more), after --max-session
seconds (the safety net covers it then), when its lease is lost (closed at once), or at shutdown. A
lost connection is re-opened with backoff and jitter, within VALR's connection budget, and the
subaccount is reconciled over REST when SQL says so: events missed while away are found there.

A session sees the worker only through its SessionContext: the database calls, the REST client and
lookups, a way to start background tasks, and its settings — nothing of the runner's own state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg

from worker.config import WorkerSettings
from worker.daemon.backoff import backoff, pause
from worker.daemon.clock import ClockWatch
from worker.daemon.dbhealth import DatabaseHealth
from worker.daemon.fallbacks_first import FallbacksFirst
from worker.daemon.lookups import Lookups
from worker.db.store import Store
from worker.logs import event
from worker.valr.events import LEDGER_EVENTS
from worker.valr.framequeue import Batch
from worker.valr import (
    AccountSocket, AuthenticationError, ConnectionLost, Credentials, PlacedOrder, PlacementNotSent, PrecisionError,
    RateLimited, TransportError, ValrClient, ValrError,
)

log = logging.getLogger("worker.session")
CONNECT_ASKERS = 4  # sessions of one worker asking again for a connection slot at the same time


def commits_of(batch: Batch) -> list[tuple[list[dict], int]]:
    """A read's frames as the record_batch calls that commit them, in the order received: the order
    frames before the read's first ledger frame in a call of their own, the rest in the next.
    VALR sends a fill's trade, status and open-orders list, then the balances it moved and the history
    record: in one call the fill's commit waited for the ledger's writes (about half of the read's
    server time, and their WAL in its fsync). Committed first, the fill is durable, and its NOTIFY
    out, that much sooner. Nothing is reordered (a read that begins with a ledger frame, or has none,
    is one call), and each call is its own whole: the ledger's rows are idempotent by VALR's ids, and a
    ledger call lost with the connection is covered by the ledger's REST catch-up, as any frame lost
    with a connection is. `superseded` (lists dropped among the read's frames) goes with the call whose
    frames they stood among (Batch.dropped_before), so each call's NOTIFY counts the frames received in
    its own stretch of the read: with every drop counted in the first, a read of several fills (a
    backlog, under load) told the listener one call too many frames and the next too few."""
    frames = [e.raw for e in batch]
    cut = next((i for i, e in enumerate(batch) if e.type in LEDGER_EVENTS), len(frames))
    if 0 < cut < len(frames):
        later = sum(n for i, n in batch.dropped_before.items() if i >= cut)
        return [(frames[:cut], batch.superseded - later), (frames[cut:], later)]
    return [(frames, batch.superseded)]


@dataclass(frozen=True)
class SessionContext:
    """What a subaccount session needs from the worker around it, and nothing more."""
    store: Store                    # the SQL functions (account_work, sessions, record_batch, placement)
    client: ValrClient              # REST: placing orders
    lookups: Lookups                # REST follow-ups: reconciliation, missing orders and fills
    spawn: Callable[[Coroutine[Any, Any, Any], str], asyncio.Task]  # a guarded background task
    valr_base_url: str
    credentials: Credentials        # its repr hides the secret
    ws_connects_per_minute: int = 60
    max_session_s: float = 300.0    # 0 = persistent
    socket_wait_s: float = 10.0     # how long placement waits for an authenticated socket
    # VALR refused the API key on a placement (reason, the refused order): the worker stops placing
    key_refused: Callable[[str, UUID | None], Coroutine[Any, Any, None]] | None = None
    clock: "ClockWatch | None" = None  # VALR's clock: re-checked when a signed request is refused
    db: DatabaseHealth | None = None   # database errors said once per outage (not per subaccount, per try)
    # While the budget is spent, the worker's waiting sessions ask SQL again CONNECT_ASKERS at a time,
    # in turn: without it every waiting session re-asked whenever a slot might free (2,000 waiting:
    # ~2,000 calls per freed slot, each on the budget's global lock, starving the pool; figure 6 of
    # docs/performance.md). More than one at a time: each ask waits its turn in the pool too.
    connect_line: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONNECT_ASKERS))
    # claimed orders SQL handed to a session (a fallback's replacement): placed like the runner's claims
    # (the runner's own placement task); None: the session places them itself
    hand_over: Callable[["SubaccountSession", list[dict]], Any] | None = None
    # the fallbacks whose cancels left and VALR's word on them: this session's work that can wait (its
    # follow-ups, a placement's answer) waits for them (worker/daemon/fallbacks_first.py)
    fallbacks: FallbacksFirst = field(default_factory=FallbacksFirst)

    @classmethod
    def of(cls, settings: WorkerSettings, store: Store, client: ValrClient, lookups: Lookups,
           spawn: Callable[[Coroutine[Any, Any, Any], str], asyncio.Task],
           key_refused: Callable[[str, UUID | None], Coroutine[Any, Any, None]] | None = None,
           clock: "ClockWatch | None" = None, db: DatabaseHealth | None = None,
           hand_over: Callable[["SubaccountSession", list[dict]], Any] | None = None,
           fallbacks: FallbacksFirst | None = None) -> "SessionContext":
        return cls(store=store, client=client, lookups=lookups, spawn=spawn, key_refused=key_refused, clock=clock, db=db,
                   hand_over=hand_over, fallbacks=FallbacksFirst() if fallbacks is None else fallbacks,
                   valr_base_url=settings.valr_base_url, credentials=settings.credentials,
                   ws_connects_per_minute=settings.ws_connects_per_minute,
                   max_session_s=settings.max_session_s, socket_wait_s=settings.socket_wait_s)


class SubaccountSession:
    def __init__(self, ctx: SessionContext, account_id: UUID, subaccount_id: str) -> None:
        self.ctx = ctx
        self.account_id = account_id
        self.subaccount_id = subaccount_id
        self.authenticated = asyncio.Event()
        self.stop_reason: str | None = None
        self.stopped = asyncio.Event()  # ends every wait of this session (backoff, budget, socket wait)
        self.socket: AccountSocket | None = None
        self.started = time.monotonic()
        self.task: asyncio.Task | None = None

    # -- control --------------------------------------------------------------------------------
    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"session:{self.subaccount_id or 'primary'}")

    async def stop(self, reason: str) -> None:
        """Close the socket now; the read loop records what it holds and ends."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stopped.set()
        if self.socket is not None:
            await self.socket.close()

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()

    # -- the connection loop ----------------------------------------------------------------------
    async def run(self) -> None:
        attempt = 0
        while self.stop_reason is None:
            try:
                session_id = await self._open_within_budget()
            except psycopg.Error as exc:  # the database is away: try again, as after a lost connection
                self._database_failed(exc, "cannot open a session row yet")
                session_id = None
            wait = 0.0
            if session_id is not None:
                read, wait = await self._connection(session_id, reconnect=attempt > 0)
                if read:
                    attempt = 0
            if self.stop_reason is None:
                attempt += 1
                delay = max(backoff(attempt), wait)
                event(log, "reconnecting", logging.DEBUG if self._database_down else logging.INFO,
                      subaccount=self.subaccount_id, attempt=attempt, delay_s=round(delay, 2))
                await pause(delay, self.stopped)

    async def _connection(self, session_id: int, reconnect: bool) -> tuple[bool, float]:
        """One connection, from connect to close, recorded: whether it got as far as reading, and the
        least wait VALR asked for before the next."""
        reason, with_error, read, wait = "closed", False, False, 0.0
        try:
            reason = await self._connected(session_id, reconnect)
            read = True
        except RateLimited as exc:  # a 429 on the upgrade: VALR's connection budget, not the key
            reason, with_error, wait = f"connection rate limited: {exc}"[:200], True, exc.retry_after or 0.0
        except AuthenticationError as exc:  # not a lost connection: VALR would not open it
            reason, with_error = f"refused by VALR: {exc}"[:200], True
        except (ConnectionLost, TransportError, OSError, ValrError) as exc:
            reason, with_error = f"connection lost: {exc}"[:200], True
            if isinstance(exc, AuthenticationError) and self.ctx.clock:  # a refused handshake: our clock?
                self.ctx.spawn(self.ctx.clock.refused(), "clock_check")
        except psycopg.Error as exc:  # database trouble: drop the socket; reconciliation recovers
            reason, with_error = f"database error: {type(exc).__name__}", True
        except Exception as exc:  # a bug must not end this subaccount's monitoring for good
            log.exception("session failed unexpectedly; reconnecting")
            reason, with_error = f"unexpected error: {type(exc).__name__}"[:200], True
        finally:
            self.authenticated.clear()
            self.socket = None
            # A close we asked for (nothing open, max session, lease, shutdown) is no error, even
            # though the socket reports it as a lost connection.
            await self._record_close(session_id, self.stop_reason or reason, with_error and self.stop_reason is None)
        return read, wait

    async def _open_within_budget(self) -> int | None:
        """A session row once VALR's connection budget for the key (counted in SQL, across every
        worker) has room; None when the session was stopped while waiting. Asked once at once; while
        the budget is spent, only the head of the worker's connect line asks again."""
        slot = await self._ask_for_slot()
        if slot is None or slot["session_id"] is not None:
            return None if slot is None else slot["session_id"]
        if not await self._take_turn():
            return None
        try:
            while True:
                slot = await self._ask_for_slot()  # at once on our turn: the wait we were told is stale
                if slot is None or slot["session_id"] is not None:
                    return None if slot is None else slot["session_id"]
                await pause(float(slot["wait_seconds"]), self.stopped)
        finally:
            self.ctx.connect_line.release()

    async def _ask_for_slot(self) -> dict | None:
        if self.stop_reason is not None:
            return None
        return await self.ctx.store.session_open_within_budget(self.account_id, self.ctx.ws_connects_per_minute)

    async def _take_turn(self) -> bool:
        """This session's turn in the worker's connect line (FIFO); False when stopped while in line."""
        turn = asyncio.ensure_future(self.ctx.connect_line.acquire())
        stopped = asyncio.ensure_future(self.stopped.wait())
        try:
            await asyncio.wait({turn, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not turn.done():
                turn.cancel()  # acquire() hands a turn it was woken for on to the next in line
        if turn.done() and not turn.cancelled():
            if self.stop_reason is None:
                return True
            self.ctx.connect_line.release()
        return False

    async def _record_close(self, session_id: int, reason: str, with_error: bool) -> None:
        level = logging.INFO if not with_error else logging.DEBUG if self._database_down else logging.WARNING
        event(log, "session closed", level, subaccount=self.subaccount_id, session=session_id, reason=reason)
        try:
            await self.ctx.store.session_closed(session_id, reason, with_error)
        except psycopg.Error as exc:  # the next session_open of this subaccount closes it ('superseded')
            self._database_failed(exc, "could not record session close")

    @property
    def _database_down(self) -> bool:
        return self.ctx.db is not None and self.ctx.db.down

    def _database_failed(self, exc: psycopg.Error, what: str) -> None:
        """Said once per outage by the worker's DatabaseHealth; on its own (no runner), one line here."""
        if self.ctx.db is not None:
            self.ctx.db.failed(f"session {self.subaccount_id or 'primary'}", exc)
        else:
            event(log, what, logging.WARNING, subaccount=self.subaccount_id, error=str(exc).strip()[:200])

    async def _connected(self, session_id: int, reconnect: bool) -> str:
        if self.stop_reason is not None:  # stopped while the session row was being opened
            return self.stop_reason
        async with AccountSocket(self.ctx.valr_base_url, self.ctx.credentials, self.subaccount_id) as sock:
            self.socket = sock
            if self.stop_reason is not None:
                return self.stop_reason
            await self.ctx.store.session_authenticated(session_id)
            # What the account did while no socket watched it: the ledger's REST catch-up (claimed by a tick).
            await self.ctx.store.request_ledger_sync(self.account_id)
            self.authenticated.set()
            event(log, "session opened", subaccount=self.subaccount_id, session=session_id, reconnect=reconnect)
            await self._reconcile_if_needed()
            timer = self._max_session_timer()
            try:
                return await self._read(sock, session_id)
            finally:
                if timer:
                    timer.cancel()

    def _max_session_timer(self) -> asyncio.Task | None:
        limit = self.ctx.max_session_s
        if not limit:
            return None  # persistent sessions (the spec's Phase 2)
        remaining = max(0.0, limit - (time.monotonic() - self.started))

        async def expire() -> None:
            await asyncio.sleep(remaining)
            await self.stop("max_session")  # session_closed marks the lease: no reopening for open orders alone

        return asyncio.create_task(expire())

    async def _work(self) -> dict | None:
        """What SQL says about this subaccount now (None when its lease is no longer held)."""
        rows = await self.ctx.store.account_work(self.account_id)
        return rows[0] if rows else None

    async def _reconcile_if_needed(self) -> None:
        """Our submitted orders may have changed while no socket watched them (placed before this
        socket, inserted by another system, or a reconnect): one GET /v1/orders/open reconciles.
        If that finished every order, the session has nothing left to watch."""
        work = await self._work()
        if work and work["reconcile_on_connect"]:
            try:
                await self.ctx.lookups.reconcile_account(self.account_id, self.subaccount_id)
            except (TransportError, RateLimited, ValrError) as exc:
                event(log, "reconciliation failed; the safety net will cover", logging.WARNING,
                      subaccount=self.subaccount_id, error=str(exc))
                return
            await self._close_if_sql_says_so()

    async def _read(self, sock: AccountSocket, session_id: int) -> str:
        async for batch in sock.batches():
            for frames, superseded in commits_of(batch):
                rows, placements = await self.ctx.store.record_batch(session_id, frames, superseded)
                if placements:
                    self._place_handed_over(placements)
                    # One turn of the loop, so the POST's task takes its first step (up to the request
                    # on the wire) before this read's follow-ups and the next recording call, whose
                    # steps it would otherwise wait behind (under load: 5-20 ms between commit and POST).
                    await asyncio.sleep(0)
                self._act_on(rows)
            if self.stop_reason is not None:
                return self.stop_reason
        return self.stop_reason or "closed by exchange"

    def _place_handed_over(self, orders: list[dict]) -> None:
        """Orders SQL claimed for us in the batch's transaction, their first attempt already stamped
        (hand_over_replacements): POSTed now, by the same placement code as the runner's claims, if
        they can leave within SQL's send_within_seconds (else not sent: the lost-placement lookup)."""
        now = time.monotonic()
        for order in orders:
            order["send_by"] = now + float(order["send_within_seconds"])
        if self.ctx.hand_over is not None:
            self.ctx.hand_over(self, orders)
        else:
            self.ctx.spawn(self.place(orders), "place")

    def _act_on(self, rows: list[dict], source: str = "ws") -> bool:
        """Follow up what SQL reported, off the read loop (the next frames must not wait): lookups for
        orders gone from the open list, missing fills for orders that finished, and asking SQL whether
        the session may close — after the fallbacks still waiting for VALR's word (the replacements of
        those this read finished have left already). True when an order finished (the session's close
        is asked for)."""
        missing = [r["exchange_order_id"] for r in rows if r["outcome"] == "missing"]
        finished = [r["exchange_order_id"] for r in rows
                    if r["outcome"] == "applied" and r["final"]]
        self.ctx.fallbacks.settled(finished)
        for r in rows:
            if r["outcome"] == "applied" and r["final"]:
                event(log, "order terminal", order=r["exchange_order_id"], status=r["new_status"], source=source)
        if missing:
            self.ctx.spawn(self._after_fallbacks(self._look_up_missing(missing)), "look_up_missing")
        if finished:
            self.ctx.spawn(self._after_fallbacks(self.ctx.lookups.fetch_missing_fills(finished)), "fetch_missing_fills")
            self.ctx.spawn(self._after_fallbacks(self._close_if_sql_says_so()), "close_if_nothing_open")
        return bool(finished)

    async def _after_fallbacks(self, work: Coroutine[Any, Any, Any]) -> None:
        try:
            await self.ctx.fallbacks.after_fallbacks()
        except BaseException:  # cancelled while it waited: the work never starts
            work.close()
            raise
        await work

    async def _look_up_missing(self, order_ids: list[UUID]) -> None:
        await self.ctx.lookups.look_up_missing(order_ids)
        await self._close_if_sql_says_so()

    async def _close_if_sql_says_so(self) -> None:
        work = await self._work()
        if work is not None and work["may_close"]:
            await self.stop("no_open_orders")

    # -- placement ------------------------------------------------------------------------------
    async def place(self, orders: list[dict]) -> None:
        """Place claimed orders once the socket is authenticated (or after --socket-wait, or at once
        when the session is stopping: the reconciliation on connect then covers them)."""
        if not self.authenticated.is_set():  # (a socket already up, e.g. a hand-over: no waiters)
            authenticated = asyncio.create_task(self.authenticated.wait())
            stopped = asyncio.create_task(self.stopped.wait())
            await asyncio.wait({authenticated, stopped}, timeout=self.ctx.socket_wait_s,
                               return_when=asyncio.FIRST_COMPLETED)
            for waiter in (authenticated, stopped):
                waiter.cancel()
        if not self.authenticated.is_set():
            event(log, "placing before the socket is up", logging.WARNING,
                  subaccount=self.subaccount_id, orders=len(orders))
        if len(orders) == 1:  # (a fallback's replacement): no task of its own to wait for a turn
            await self._place_one(orders[0])
        else:
            await asyncio.gather(*(self._place_one(o) for o in orders))

    async def _place_one(self, order: dict) -> None:
        store = self.ctx.store
        order_id = order["exchange_order_id"]
        sent = 0
        earlier = order.get("placement_attempts") or 0  # sent by earlier claims of an order placed again

        async def may_send(_: int) -> bool:
            # The last word before each POST leaves (after any budget, 429 or clock wait): the
            # database stamps the attempt, or refuses when the order moved on or its grace passed.
            # Retries are numbered across claims, so an earlier claim's held retry never matches ours.
            nonlocal sent
            sent += 1
            if sent == 1 and "send_by" in order:  # stamped by SQL as it handed the order over
                return time.monotonic() < order["send_by"]
            return await (store.begin_placement(order_id) if sent == 1
                          else store.retry_placement(order_id, earlier + sent))

        while True:
            try:
                placed = await self._send(order, may_send)
                break
            except AuthenticationError as exc:
                # Refused before VALR accepted anything. If our timestamp was the cause, wait for a good
                # clock and try again (the database still checks the grace before the retry leaves);
                # otherwise VALR refused the key, not the order: the worker stops placing.
                if self.ctx.clock is not None and await self.ctx.clock.refused():
                    event(log, "placement refused: clock skew; waiting for the clock", logging.WARNING,
                          order=order_id)
                    await self.ctx.clock.wait_ok()
                    continue
                reason = f"VALR {exc.status} code={exc.code}: {exc.message}"[:300]
                if self.ctx.key_refused is not None:
                    await self.ctx.key_refused(reason, order_id)
                else:  # no one to stop placement: VALR's refusal is still the order's known outcome
                    await store.record_placement_refused(order_id, "valr_error", reason)
                return
            except PlacementNotSent:
                event(log, "not sent: the order moved on or its grace passed while its request waited",
                      logging.WARNING, order=order_id, attempt=sent)
                # A retry refused once its grace passed failed the order in SQL (retry_placement).
                return
            except PrecisionError as exc:  # SQL decides what each refusal does (record_placement_refused)
                await store.record_placement_refused(order_id, "precision", str(exc))
                return
            except RateLimited as exc:
                await store.record_placement_refused(order_id, "rate_limited", str(exc))
                event(log, "placement rate-limited", logging.WARNING, order=order_id)
                return
            except TransportError as exc:
                # The request may have reached VALR: the order stays `placing` and is looked up by
                # customerOrderId — not sent again here (SQL places it again only once VALR does not
                # know it after the grace).
                event(log, "placement answer lost; will look it up", logging.WARNING, order=order_id, error=str(exc))
                return
            except ValrError as exc:  # VALR answered and refused
                await store.record_placement_refused(order_id, "valr_error", f"{exc.code} {exc.message}")
                event(log, "placement refused by VALR", logging.WARNING, order=order_id,
                      code=exc.code, message=exc.message[:200])
                return
        payload = getattr(placed, "payload", None) or {"id": placed.id, "customerOrderId": placed.customer_order_id}
        # The answer can wait for the fallbacks in flight: until it is recorded the order is `placing`,
        # its attempt stamped, and VALR's frames about it are matched by customerOrderId (match_order).
        await self.ctx.fallbacks.after_fallbacks()
        row = await store.record_placement(order_id, placed.id, None, payload)  # a ccxt order as ccxt gave it
        event(log, "order placed", order=order_id, valr_order_id=placed.id, subaccount=self.subaccount_id,
              status=(row or {}).get("status"))
        await self._after_placement(payload)

    async def _after_placement(self, answer: dict) -> None:
        """VALR's 202 says only that the order was accepted (its word follows on the socket)."""

    async def _send(self, order: dict, may_send) -> PlacedOrder:
        """The one POST of a claimed order, to the endpoint of its order_type (customerOrderId =
        customer_order_id: the intent, or a replacement's own id); `may_send` asks the database
        before each attempt."""
        client, common = self.ctx.client, dict(pair=order["pair"], side=order["side"],
                                                  customer_order_id=str(order["customer_order_id"]),
                                                  may_send=may_send)
        if order["order_type"] == "market":
            return await client.place_market_order(self.subaccount_id, base_amount=order["qty"], **common)
        return await client.place_limit_order(self.subaccount_id, quantity=order["qty"], price=order["price"],
                                              post_only=order["post_only"],
                                              time_in_force=order["time_in_force"], **common)
