"""One subaccount's account WebSocket: opened and authenticated BEFORE its orders are placed, so no
fill happens unseen; frames that arrive together go to SQL in one record_batch call.

A session ends when its subaccount has no open orders left, after --max-session seconds (the safety
net covers it then), when its lease is lost (closed at once), or at shutdown. A lost connection is
re-opened with backoff and jitter, within VALR's connection budget, and the subaccount is reconciled
over REST once: events missed while away are found there.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING
from uuid import UUID

import psycopg

from worker.logs import event
from worker.valr import (
    AccountSocket, AuthenticationError, ConnectionLost, PlacedOrder, PrecisionError, RateLimited, TransportError,
    ValrError,
)

if TYPE_CHECKING:
    from worker.daemon.runner import Runner

log = logging.getLogger("worker.session")

TERMINAL = ("filled", "cancelled", "failed")


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter (attempt 1 → up to 0.5 s, doubling, capped)."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


class SubaccountSession:
    def __init__(self, runner: "Runner", account_id: UUID, subaccount_id: str) -> None:
        self.runner = runner
        self.account_id = account_id
        self.subaccount_id = subaccount_id
        self.authenticated = asyncio.Event()
        self.stop_reason: str | None = None
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
        if self.socket is not None:
            await self.socket.close()

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()

    # -- the connection loop ----------------------------------------------------------------------
    async def run(self) -> None:
        attempt = 0
        while self.stop_reason is None:
            session_id = await self._open_within_budget()
            if session_id is None:
                break
            reason, with_error, wait = "closed", False, 0.0
            try:
                reason = await self._connected(session_id, reconnect=attempt > 0)
                attempt = 0
            except RateLimited as exc:  # a 429 on the upgrade: VALR's connection budget, not the key
                reason, with_error, wait = f"connection rate limited: {exc}"[:200], True, exc.retry_after or 0.0
            except (ConnectionLost, AuthenticationError, TransportError, OSError, ValrError) as exc:
                reason, with_error = f"connection lost: {exc}"[:200], True
            except psycopg.Error as exc:  # database trouble: drop the socket; reconciliation recovers
                reason, with_error = f"database error: {type(exc).__name__}", True
            except Exception as exc:  # a bug must not end this subaccount's monitoring for good
                log.exception("session failed unexpectedly; reconnecting")
                reason, with_error = f"unexpected error: {type(exc).__name__}"[:200], True
            finally:
                self.authenticated.clear()
                self.socket = None
                # A close we asked for (no open orders, max session, lease, shutdown) is no error,
                # even though the socket reports it as a lost connection.
                await self._record_close(session_id, self.stop_reason or reason,
                                         with_error and self.stop_reason is None)
            if self.stop_reason is None:
                attempt += 1
                delay = max(backoff(attempt), wait)
                event(log, "reconnecting", subaccount=self.subaccount_id, attempt=attempt, delay_s=round(delay, 2))
                await asyncio.sleep(delay)

    async def _open_within_budget(self) -> int | None:
        """A session row once VALR's connection budget for the key (counted in SQL, across every
        worker) has room; None when the session was stopped while waiting."""
        while self.stop_reason is None:
            slot = await self.runner.store.session_open_within_budget(
                self.account_id, self.runner.settings.ws_connects_per_minute)
            if slot["session_id"] is not None:
                return slot["session_id"]
            await asyncio.sleep(float(slot["wait_seconds"]))
        return None

    async def _record_close(self, session_id: int, reason: str, with_error: bool) -> None:
        event(log, "session closed", subaccount=self.subaccount_id, session=session_id, reason=reason)
        try:
            await self.runner.store.session_closed(session_id, reason, with_error)
        except psycopg.Error as exc:
            event(log, "could not record session close", logging.WARNING, session=session_id, error=str(exc))

    async def _connected(self, session_id: int, reconnect: bool) -> str:
        settings = self.runner.settings
        async with AccountSocket(settings.valr_base_url, settings.credentials, self.subaccount_id) as sock:
            self.socket = sock
            if self.stop_reason is not None:
                return self.stop_reason
            await self.runner.store.session_authenticated(session_id)
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
        limit = self.runner.settings.max_session_s
        if not limit:
            return None  # persistent sessions (the spec's Phase 2)
        remaining = max(0.0, limit - (time.monotonic() - self.started))

        async def expire() -> None:
            await asyncio.sleep(remaining)
            await self.stop("max_session")

        return asyncio.create_task(expire())

    async def _reconcile_if_needed(self) -> None:
        """Our submitted orders may have changed while no socket watched them (placed before this
        socket, inserted by another system, or a reconnect): one GET /v1/orders/open reconciles."""
        work = await self.runner.work_of(self.account_id)
        if work and work["submitted_orders"] > 0:
            try:
                await self.runner.lookups.reconcile_account(self.account_id, self.subaccount_id)
            except (TransportError, RateLimited, ValrError) as exc:
                event(log, "reconciliation failed; the safety net will cover", logging.WARNING,
                      subaccount=self.subaccount_id, error=str(exc))

    async def _read(self, sock: AccountSocket, session_id: int) -> str:
        store = self.runner.store
        async for batch in sock.batches():
            rows = await store.record_batch(session_id, [e.raw for e in batch], batch.superseded)
            await self._act_on(rows)
            if self.stop_reason is not None:
                return self.stop_reason
        return self.stop_reason or "closed by exchange"

    async def _act_on(self, rows: list[dict]) -> None:
        """Follow up what SQL reported: lookups for orders gone from the open list, missing fills for
        orders that finished, and closing the session when nothing is open any more."""
        missing = [r["exchange_order_id"] for r in rows if r["outcome"] == "missing"]
        finished = [r["exchange_order_id"] for r in rows
                    if r["outcome"] == "applied" and r["new_status"] in TERMINAL]
        for r in rows:
            if r["outcome"] == "applied" and r["new_status"] in TERMINAL:
                event(log, "order terminal", order=r["exchange_order_id"], status=r["new_status"], source="ws")
        if missing:
            self.runner.spawn(self.runner.lookups.look_up_missing(missing), "look_up_missing")
        if finished:
            self.runner.spawn(self.runner.lookups.fetch_missing_fills(finished), "fetch_missing_fills")
            # Off the read loop: the next frames must not wait for this question.
            self.runner.spawn(self._close_if_nothing_open(), "close_if_nothing_open")

    async def _close_if_nothing_open(self) -> None:
        work = await self.runner.work_of(self.account_id)
        if work is not None and work["pending_orders"] + work["placing_orders"] + work["submitted_orders"] == 0:
            await self.stop("no_open_orders")

    # -- placement ------------------------------------------------------------------------------
    async def place(self, orders: list[dict]) -> None:
        """Place claimed orders once the socket is authenticated (or after --socket-wait anyway:
        the reconciliation on connect then covers them)."""
        try:
            await asyncio.wait_for(self.authenticated.wait(), self.runner.settings.socket_wait_s)
        except asyncio.TimeoutError:
            event(log, "placing before the socket is up", logging.WARNING,
                  subaccount=self.subaccount_id, orders=len(orders))
        await asyncio.gather(*(self._place_one(o) for o in orders))

    async def _place_one(self, order: dict) -> None:
        # In flight since its claim (runner._place_pending): no lookup races a request still waiting.
        try:
            await self._place_and_record(order)
        finally:
            self.runner.in_flight.discard(order["exchange_order_id"])

    async def _place_and_record(self, order: dict) -> None:
        store = self.runner.store
        order_id = order["exchange_order_id"]
        # The last word before the POST: the database stamps the request as sent, or refuses when the
        # order moved on while it waited (e.g. failed after the grace period) — at most one POST, ever.
        if not await store.begin_placement(order_id):
            event(log, "not sent: the order moved on while its request waited", logging.WARNING, order=order_id)
            return
        try:
            placed = await self._send(order)
        except PrecisionError as exc:
            await store.record_placement(order_id, None, f"refused before sending: {exc}")
            return
        except RateLimited as exc:  # a 429 proves VALR did not accept it: a known outcome
            await store.record_placement(order_id, None, f"VALR rate limit: not accepted ({exc})"[:500])
            event(log, "placement rate-limited", logging.WARNING, order=order_id)
            return
        except TransportError as exc:
            # The request may have reached VALR: the order stays `placing` and is looked up by
            # customerOrderId — never placed again.
            event(log, "placement answer lost; will look it up", logging.WARNING, order=order_id, error=str(exc))
            return
        except ValrError as exc:  # VALR answered and refused: a known outcome
            await store.record_placement(order_id, None, f"VALR refused: {exc.code} {exc.message}"[:500])
            event(log, "placement refused", order=order_id, code=exc.code)
            return
        row = await store.record_placement(order_id, placed.id, None,
                                           {"id": placed.id, "customerOrderId": placed.customer_order_id})
        event(log, "order placed", order=order_id, valr_order_id=placed.id, subaccount=self.subaccount_id,
              status=(row or {}).get("status"))

    async def _send(self, order: dict) -> PlacedOrder:
        """The one POST of a claimed order, to the endpoint of its order_type (customerOrderId =
        customer_order_id: the intent, or a replacement's own id)."""
        client, common = self.runner.client, dict(pair=order["pair"], side=order["side"],
                                                  customer_order_id=str(order["customer_order_id"]))
        if order["order_type"] == "market":
            return await client.place_market_order(self.subaccount_id, base_amount=order["qty"], **common)
        return await client.place_limit_order(self.subaccount_id, quantity=order["qty"], price=order["price"],
                                              post_only=order["post_only"],
                                              time_in_force=order["time_in_force"], **common)
