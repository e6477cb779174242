"""Account sockets by subaccount, and event delivery through the fault filters.

Each socket has its own queue and writer task, so frames reach a socket in the order they were emitted
(unless the reorder fault says otherwise) and a slow socket never blocks the exchange."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from worker.lab.sim.faults import Faults

log = logging.getLogger(__name__)

CONTROL = frozenset({"AUTHENTICATED", "PONG"})


@dataclass(eq=False)  # identity-hashed: kept in a set
class AccountConnection:
    number: int
    subaccount_id: str
    ws: web.WebSocketResponse
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    held: str | None = None  # reorder fault: a frame waiting to go out after the next one


class Hub:
    def __init__(self, faults: Faults, rng: random.Random, stamp_frames: bool) -> None:
        self.faults = faults
        self.rng = rng
        self.stamp_frames = stamp_frames
        self.connections: set[AccountConnection] = set()
        self.frame_log: list[dict] = []
        self.frames_sent = 0
        self.events_sent = 0
        self.events_by_type: Counter[str] = Counter()
        self._numbers = 0

    def new_connection(self, subaccount_id: str, ws: web.WebSocketResponse) -> AccountConnection:
        self._numbers += 1
        conn = AccountConnection(self._numbers, subaccount_id, ws)
        self.connections.add(conn)
        return conn

    def drop(self, conn: AccountConnection) -> None:
        self.connections.discard(conn)

    # ---- delivery -------------------------------------------------------------------------------

    def emit(self, subaccount_id: str, frame: dict) -> None:
        """An account event for every socket authenticated for this subaccount (only those)."""
        for conn in list(self.connections):
            if conn.subaccount_id == subaccount_id:
                self.send_event(conn, frame)

    def send_event(self, conn: AccountConnection, frame: dict) -> None:
        faults = self.faults
        if faults.silent or (faults.drop_fraction and self.rng.random() < faults.drop_fraction):
            return
        text = json.dumps(frame, separators=(",", ":"))
        copies = 2 if faults.duplicate_fraction and self.rng.random() < faults.duplicate_fraction else 1
        for _ in range(copies):
            if faults.reorder:
                if conn.held is None:
                    conn.held = text
                    asyncio.get_running_loop().call_later(0.05, self._flush_held, conn)
                    continue
                conn.queue.put_nowait(text)
                text, conn.held = conn.held, None
            conn.queue.put_nowait(text)

    def _flush_held(self, conn: AccountConnection) -> None:
        if conn.held is not None:
            conn.queue.put_nowait(conn.held)
            conn.held = None

    def send_control(self, conn: AccountConnection, frame: dict) -> None:
        conn.queue.put_nowait(json.dumps(frame, separators=(",", ":")))

    def send_raw(self, conn: AccountConnection, text: str) -> None:
        conn.queue.put_nowait(text)

    async def writer(self, conn: AccountConnection) -> None:
        """Sends a socket's queued frames in order; applies close_after_events; logs send times."""
        while True:
            text = await conn.queue.get()
            if conn.ws.closed:
                return
            await conn.ws.send_str(text)
            self.frames_sent += 1
            kind = _frame_type(text)
            if self.stamp_frames:
                self.frame_log.append(_log_entry(text, kind, conn, time.time()))
            if kind not in CONTROL:
                self.events_sent += 1
                self.events_by_type[kind] += 1
                await self._count_down_close()

    async def _count_down_close(self) -> None:
        if self.faults.close_after_events is None:
            return
        self.faults.close_after_events -= 1
        if self.faults.close_after_events <= 0:
            self.faults.close_after_events = None
            await self.close_all("fault injection: close after events")

    async def close_all(self, reason: str = "fault injection: close sockets") -> int:
        conns = list(self.connections)
        for conn in conns:
            await conn.ws.close(code=1012, message=reason.encode()[:120])
        log.info("closed %d account socket(s): %s", len(conns), reason)
        return len(conns)

    def malformed_to_all(self) -> int:
        for conn in list(self.connections):
            self.send_raw(conn, '{"type": "ORDER_STATUS_UPDATE", "data": ')  # truncated JSON
        return len(self.connections)


def _frame_type(text: str) -> str:
    try:
        return str(json.loads(text).get("type", "?"))
    except (ValueError, AttributeError):
        return "MALFORMED"


def _log_entry(text: str, kind: str, conn: AccountConnection, sent_at: float) -> dict:
    entry: dict = {"type": kind, "subaccountId": conn.subaccount_id, "socket": conn.number, "sent_at": sent_at}
    try:
        data = json.loads(text).get("data")
    except (ValueError, AttributeError):
        data = None
    if isinstance(data, dict):
        if "orderId" in data:
            entry["orderId"] = data["orderId"]
        if kind == "NEW_ACCOUNT_TRADE" and "id" in data:
            entry["id"] = data["id"]
        if "orderStatusType" in data:
            entry["status"] = data["orderStatusType"]
    return entry
