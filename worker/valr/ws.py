"""VALR account WebSocket: `<ws base>/ws/account`, authenticated by signed headers on the upgrade.

A reader task takes every frame off the socket as it arrives into a bounded queue (so BALANCE_UPDATE
and OPEN_ORDERS_UPDATE sent right after AUTHENTICATED are never lost; when the queue is full it stops
reading: TCP backpressure; an open-orders list superseded by a newer one is dropped — framequeue.py
says why that is safe), a pinger sends {"type":"PING"} every `ping_interval` (20 s: VALR's limit is
30 s) and declares the connection dead when no PONG follows within `pong_timeout`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import Counter
from typing import AsyncIterator

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from worker.valr.errors import AuthenticationError, ConnectionLost, RateLimited, TransportError, ValrError
from worker.valr.events import IGNORED_EVENTS, ORDER_EVENTS, AccountEvent, is_open_orders_text, parse_frame
from worker.valr.framequeue import OPEN_ORDERS, Batch, FrameQueue
from worker.valr.ratelimit import wait_after_429
from worker.valr.signing import Credentials, auth_headers

log = logging.getLogger(__name__)

ACCOUNT_PATH = "/ws/account"
# VALR: "you must send a PING message every 30 seconds". 30 s exactly leaves no margin for a late timer
# or a slow network; every 20 s does.
PING_EVERY_S = 20.0
SETTLE_TURNS = 3  # event-loop turns batches() gives frames already received to reach the queue
# No permessage-deflate (websockets offers it by default). Account frames are small JSON, a few a
# second per subaccount: inflating each one added about 0.15 ms to every event's way to the database
# (p50 of the bench's send → read, 0.41 → 0.26 ms), and each compressed socket keeps a zlib window.
COMPRESSION = None
# Frames read but not yet taken for recording. A batch takes up to 500; small frames (a status, a
# trade) are a few kB parsed, and at most one open-orders list waits (FrameQueue), so this bounds a
# socket's backlog to a few MB whatever the account's size. websockets buffers at most
# WS_BUFFERED_MESSAGES more before it stops reading the connection.
QUEUE_LIMIT = 1000
WS_BUFFERED_MESSAGES = 16
# Sent once after AUTHENTICATED: the order events this worker records.
SUBSCRIBE = {"type": "SUBSCRIBE", "subscriptions": [
    {"event": name} for name in ("ORDER_STATUS_UPDATE", "NEW_ACCOUNT_TRADE", "ORDER_PROCESSED",
                                 "OPEN_ORDERS_UPDATE", "FAILED_CANCEL_ORDER")]}


def _refusal(response, path: str) -> Exception:
    """A refused upgrade: 429 is VALR's connection rate limit (60 new sockets a minute), not a bad key;
    401/403 is authentication; a 5xx is VALR's trouble; anything else VALR said no to."""
    status = response.status_code
    if status == 429:
        return RateLimited(path, wait_after_429(response.headers.get("Retry-After")))
    if status >= 500:
        return TransportError(f"{path} WebSocket handshake: VALR answered {status}", status=status)
    if status in (401, 403):
        return AuthenticationError(status, None, f"{path} WebSocket handshake refused ({status})")
    return ValrError(status, None, f"{path} WebSocket handshake refused ({status})")


def ws_url(base_url: str, path: str = ACCOUNT_PATH) -> str:
    """https://api.valr.com → wss://api.valr.com/ws/account (http → ws for the simulator)."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://"):]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://"):]
    return base + path


class AccountSocket:
    """`async with AccountSocket(base, creds, subaccount_id) as sock: async for batch in sock.batches(): …`"""

    PATH = ACCOUNT_PATH
    NAME = "account"
    AWAITS_AUTHENTICATED = True  # VALR sends AUTHENTICATED first on the account socket
    QUEUED_EVENTS = ORDER_EVENTS  # the frames batches() yields; control frames and the rest are handled here
    SUBSCRIBE_ON_CONNECT: dict | None = SUBSCRIBE

    def __init__(self, base_url: str, credentials: Credentials, subaccount_id: str = "", *,
                 ping_interval: float = PING_EVERY_S, pong_timeout: float = 10.0, max_size: int = 64 * 2**20,
                 auth_timeout: float = 10.0, queue_limit: int = QUEUE_LIMIT) -> None:
        self.url = ws_url(base_url, self.PATH)
        self.credentials = credentials
        self.subaccount_id = subaccount_id
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.max_size = max_size
        self.auth_timeout = auth_timeout
        self.skipped_frames = 0   # malformed: not JSON, no type, an order event of the wrong shape
        self.ignored_frames: Counter[str] = Counter()  # typed frames the worker does not need, by type
        self.subscription_answer: str | None = None   # SUBSCRIBED, UNSUPPORTED, or None (no answer)
        self.connected_at: float | None = None
        self._ws: ClientConnection | None = None
        self._queue = FrameQueue(queue_limit, self._parse_kept)
        self._authenticated = asyncio.Event()
        self._pong = asyncio.Event()
        self._lost_event = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._lost: ConnectionLost | None = None

    def __repr__(self) -> str:
        return f"AccountSocket({self.url!r}, subaccount={self.subaccount_id!r})"

    async def __aenter__(self) -> "AccountSocket":
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        headers = auth_headers(self.credentials, "GET", self.PATH, "", self.subaccount_id)
        try:
            self._ws = await connect(self.url, additional_headers=headers, max_size=self.max_size,
                                     ping_interval=None, open_timeout=self.auth_timeout,
                                     max_queue=WS_BUFFERED_MESSAGES,
                                     compression=COMPRESSION)
        except InvalidStatus as exc:
            raise _refusal(exc.response, self.PATH) from None
        except (InvalidHandshake, OSError, asyncio.TimeoutError) as exc:
            raise TransportError(f"{self.PATH} WebSocket: could not connect ({type(exc).__name__})") from None
        if not self.AWAITS_AUTHENTICATED:
            self._authenticated.set()
        self._tasks.append(asyncio.create_task(self._read(), name="valr-ws-reader"))
        try:
            await asyncio.wait_for(self._wait_authenticated(), self.auth_timeout)
        except BaseException:
            await self.close()
            raise
        self.connected_at = time.time()
        await self._subscribe()
        self._tasks.append(asyncio.create_task(self._keepalive(), name="valr-ws-pinger"))

    async def _subscribe(self) -> None:
        """VALR documents the account socket as subscribed to everything on connection; evidence on
        whether ORDER_STATUS_UPDATE reaches a client that never subscribed conflicts. So ask for the
        order events anyway (harmless when not needed). Whatever the answer — SUBSCRIBED, UNSUPPORTED
        or none — nothing depends on it: a missing status frame is caught by the open-orders list and
        a REST lookup."""
        if self.SUBSCRIBE_ON_CONNECT is None:
            return
        try:
            await self._ws.send(json.dumps(self.SUBSCRIBE_ON_CONNECT))
        except ConnectionClosed:
            pass  # the reader reports the loss

    def _answered_subscription(self, event: AccountEvent) -> None:
        self.subscription_answer = event.type
        level = logging.DEBUG if event.type == "SUBSCRIBED" else logging.INFO
        log.log(level, "account socket answered the order-event subscription with %s%s", event.type,
                "" if event.type == "SUBSCRIBED" else " (status frames may not come: open orders and lookups cover it)")

    async def _wait_authenticated(self) -> None:
        auth = asyncio.create_task(self._authenticated.wait())
        lost = asyncio.create_task(self._closed_before_auth())
        done, pending = await asyncio.wait({auth, lost}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if not self._authenticated.is_set():
            err = self._lost
            raise AuthenticationError(401, err.code if err else None,
                                      f"account WebSocket closed before AUTHENTICATED ({err})")

    async def _closed_before_auth(self) -> None:
        await self._lost_event.wait()

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                await self._take(message)
            code, reason = self._ws.close_code, self._ws.close_reason
            self._end(ConnectionLost(f"account WebSocket closed (code {code}, {reason!r})", code, reason or ""))
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            reason = exc.rcvd.reason if exc.rcvd else ""
            self._end(ConnectionLost(f"account WebSocket dropped (code {code}, {reason!r})", code, reason))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a protocol error: the stream ends, the caller reconnects
            self._end(ConnectionLost(f"account WebSocket reader failed: {type(exc).__name__}: {exc}"))

    def _parse(self, message: str | bytes) -> AccountEvent | None:
        return parse_frame(message)

    def _parse_or_skip(self, message: str | bytes) -> AccountEvent | None:
        event = self._parse(message)
        if event is None:
            self.skipped_frames += 1
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            log.warning("skipped %s frame (malformed): %s", self.NAME, text[:200])
        return event

    def _parse_kept(self, message: str | bytes, received_at: float) -> AccountEvent | None:
        """An open-orders list kept as received, parsed when taken (None: skipped or not a list)."""
        event = self._parse_or_skip(message)
        if event is None or event.type != OPEN_ORDERS:
            return None
        return dataclasses.replace(event, received_at=received_at)

    @property
    def superseded_frames(self) -> int:
        """Open-orders lists dropped because a newer one arrived before they were recorded."""
        return self._queue.superseded

    @property
    def waiting_frames(self) -> int:
        return len(self._queue)

    async def _take(self, message: str | bytes) -> None:
        if OPEN_ORDERS in self.QUEUED_EVENTS and is_open_orders_text(message):
            # Parsed when taken, if no newer list has superseded it by then (framequeue.py).
            await self._queue.put_list_text(message, time.time())
            return
        event = self._parse_or_skip(message)
        if event is None:
            return
        if event.type in self.QUEUED_EVENTS:
            # Waits while the queue is full: the socket is not read meanwhile (PONGs too, so a
            # recorder stuck for pong_timeout ends the connection; the reconnect reconciles).
            await self._queue.put(event)
        elif event.type == "AUTHENTICATED":
            self._authenticated.set()
        elif event.type == "PONG":
            self._pong.set()
        elif event.type in ("SUBSCRIBED", "UNSUPPORTED"):
            self._answered_subscription(event)
        else:
            self._ignore(event)

    def _ignore(self, event: AccountEvent) -> None:
        """A documented event the worker does not need (positions, withdrawal status…), or a type
        newer than this code: counted and logged at DEBUG, never
        reported as malformed."""
        known = event.type in IGNORED_EVENTS
        self.ignored_frames[event.type if known else "(undocumented)"] += 1
        log.debug("ignored account event %s (%s)", event.type[:60],
                  "documented, not needed" if known else "not in VALR's documentation")

    def _end(self, lost: ConnectionLost) -> None:
        if self._lost is None:
            self._lost = lost
            self._lost_event.set()
            self._queue.end(lost)

    async def _keepalive(self) -> None:
        assert self._ws is not None
        try:
            while self._lost is None:
                await asyncio.sleep(self.ping_interval)
                self._pong.clear()
                await self._ws.send(json.dumps({"type": "PING"}))
                try:
                    await asyncio.wait_for(self._pong.wait(), self.pong_timeout)
                except asyncio.TimeoutError:
                    self._end(ConnectionLost(f"no PONG within {self.pong_timeout:g}s: connection presumed dead"))
                    await self._ws.close(code=1011, reason="no PONG")
                    return
        except ConnectionClosed:
            return  # the reader reports it

    async def batches(self, max_batch: int = 500) -> AsyncIterator[Batch]:
        """Yield every frame already received, without waiting once the first has arrived (a Batch:
        the frames, and how many superseded open-orders lists were dropped among them; a long list
        comes in a batch of its own, see framequeue.py). Ends by raising ConnectionLost (after the
        frames received before the loss have been yielded)."""
        while True:
            await self._queue.wait()
            await self._settle()
            await self._queue.hold_long_list()
            yield self._queue.take(max_batch)

    @staticmethod
    async def _settle(turns: int = SETTLE_TURNS) -> None:
        """A few turns of the event loop, so frames already on the socket reach the queue. VALR sends
        a fill as three frames in quick succession (trade, status, open orders); recorded in one call
        rather than two, the last of them commits about one SQL round earlier. No timer: when nothing
        else has arrived this costs a few microseconds."""
        for _ in range(turns):
            await asyncio.sleep(0)

    async def send_ping(self) -> None:
        """Send one PING now (tests; the keepalive does it on its own)."""
        if self._ws is not None:
            await self._ws.send(json.dumps({"type": "PING"}))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        if self._ws is not None:
            await self._ws.close()
        self._end(ConnectionLost("closed by the client"))


__all__ = ["AccountSocket", "ws_url", "ConnectionLost"]
