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
HISTORY = "NEW_ACCOUNT_HISTORY_RECORD"


@dataclass(eq=False)  # identity-hashed: kept in a set
class AccountConnection:
    number: int
    subaccount_id: str
    ws: web.WebSocketResponse
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)  # of Outgoing
    held: "Outgoing | None" = None  # reorder fault: a frame waiting to go out after the next one


@dataclass(frozen=True)
class Outgoing:
    """A frame to send: its text, and its type and what the frame log keeps of it (orderId, trade id,
    status). Taken from the frame itself when the hub serialized it: re-parsing every frame sent
    cost two json.loads of each 1,000-item open-orders list (~2.5 ms of CPU per fill in figure 7,
    on the machine the worker is measured on; VALR's own work is not)."""
    text: str
    kind: str
    ids: dict

    @classmethod
    def of(cls, frame: dict) -> "Outgoing":
        return cls(json.dumps(frame, separators=(",", ":")), str(frame.get("type", "?")), _logged_ids(frame))

    @classmethod
    def raw(cls, text: str) -> "Outgoing":
        """A text as given (hostile and malformed frames): read back for its type and ids."""
        try:
            frame = json.loads(text)
        except ValueError:
            return cls(text, "MALFORMED", {})
        if not isinstance(frame, dict):
            return cls(text, "MALFORMED", {})
        return cls(text, str(frame.get("type", "?")), _logged_ids(frame))


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
        self._held_history: dict[str, dict] = {}  # history_reorder: a record waiting for the next one

    def new_connection(self, subaccount_id: str, ws: web.WebSocketResponse) -> AccountConnection:
        self._numbers += 1
        conn = AccountConnection(self._numbers, subaccount_id, ws)
        self.connections.add(conn)
        return conn

    def drop(self, conn: AccountConnection) -> None:
        self.connections.discard(conn)

    # ---- delivery -------------------------------------------------------------------------------

    def emit(self, subaccount_id: str, frame: dict) -> None:
        """An account event for every socket authenticated for this subaccount (only those); a history
        record first through the ledger's faults (dropped, duplicated, swapped with the next)."""
        if frame.get("type") == HISTORY:
            for record in self._history_fate(subaccount_id, frame):
                self._to_sockets(subaccount_id, record)
            return
        self._to_sockets(subaccount_id, frame)

    def _to_sockets(self, subaccount_id: str, frame: dict) -> None:
        for conn in list(self.connections):
            if conn.subaccount_id == subaccount_id:
                self.send_event(conn, frame)

    def _history_fate(self, subaccount_id: str, frame: dict) -> list[dict]:
        copies = self.faults.history_copies(self.rng.random())
        if not self.faults.history_reorder or copies == 0:
            return [frame] * copies
        held = self._held_history.pop(subaccount_id, None)
        if held is None:  # wait for the next record (or 50 ms) before going out
            self._held_history[subaccount_id] = frame
            asyncio.get_running_loop().call_later(0.05, self._flush_history, subaccount_id, frame)
            return [frame] * (copies - 1)
        return [frame] * copies + [held]

    def _flush_history(self, subaccount_id: str, frame: dict) -> None:
        if self._held_history.get(subaccount_id) is frame:
            del self._held_history[subaccount_id]
            self._to_sockets(subaccount_id, frame)

    def send_event(self, conn: AccountConnection, frame: dict) -> None:
        faults = self.faults
        if faults.silent or (faults.drop_fraction and self.rng.random() < faults.drop_fraction):
            return
        out = Outgoing.of(frame)
        copies = 2 if faults.duplicate_fraction and self.rng.random() < faults.duplicate_fraction else 1
        for _ in range(copies):
            if faults.reorder:
                if conn.held is None:
                    conn.held = out
                    asyncio.get_running_loop().call_later(0.05, self._flush_held, conn)
                    continue
                conn.queue.put_nowait(out)
                out, conn.held = conn.held, None
            conn.queue.put_nowait(out)

    def _flush_held(self, conn: AccountConnection) -> None:
        if conn.held is not None:
            conn.queue.put_nowait(conn.held)
            conn.held = None

    def send_control(self, conn: AccountConnection, frame: dict) -> None:
        conn.queue.put_nowait(Outgoing.of(frame))

    def send_raw(self, conn: AccountConnection, text: str) -> None:
        conn.queue.put_nowait(Outgoing.raw(text))

    async def writer(self, conn: AccountConnection) -> None:
        """Sends a socket's queued frames in order; applies close_after_events; logs send times."""
        while True:
            out = await conn.queue.get()
            if conn.ws.closed:
                return
            await conn.ws.send_str(out.text)
            self.frames_sent += 1
            kind = out.kind
            if self.stamp_frames:
                self.frame_log.append({"type": kind, "subaccountId": conn.subaccount_id, "socket": conn.number,
                                       "sent_at": time.time(), **out.ids})
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


def _logged_ids(frame: dict) -> dict:
    """What the frame log keeps of a frame's data: orderId, a trade's or history record's id, a status."""
    data = frame.get("data")
    if not isinstance(data, dict):
        return {}
    ids = {}
    if "orderId" in data:
        ids["orderId"] = data["orderId"]
    if frame.get("type") in ("NEW_ACCOUNT_TRADE", HISTORY) and "id" in data:
        ids["id"] = data["id"]
    if "orderStatusType" in data:
        ids["status"] = data["orderStatusType"]
    return ids
