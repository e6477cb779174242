"""The trade WebSocket (/ws/trade): authenticated like the account socket, then nothing until the
client sends SUBSCRIBE. Only MARKET_SUMMARY_UPDATE is modelled: the latest summary of each pair is
sent on subscription and again on every change. A SUBSCRIBE replaces that event's pairs (an empty
list unsubscribes). PING → PONG ("NO_SUBSCRIPTIONS" when subscribed to nothing, as the docs say).
Faults: `trade_silent` (open, answers PING, sends no summaries), `trade_muted_pairs` (those pairs'
summaries are left out while the others stream) and `close_trade_sockets`. With
stamp_frames each summary sent is logged with its send time and the socket's client port (the bench).
Every summary written is counted per pair (`summaries_sent`): what a test waits on to know the socket
delivered a pair, which the worker's record of it cannot tell for long (a quiet pair's REST read, made
every price_rest_poll_seconds by design, records the same price again as 'rest')."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from aiohttp import web

from worker.lab.sim.faults import Faults

log = logging.getLogger(__name__)

MARKET_SUMMARY = "MARKET_SUMMARY_UPDATE"


@dataclass(eq=False)
class TradeConnection:
    number: int
    ws: web.WebSocketResponse
    peer_port: int | None = None
    pairs: set[str] = field(default_factory=set)
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


class TradeFeed:
    def __init__(self, faults: Faults, summary: Callable[[str], dict | None], stamp_frames: bool = False) -> None:
        self.faults = faults
        self.summary = summary          # pair → its MARKET_SUMMARY_UPDATE data (None: unknown pair)
        self.stamp_frames = stamp_frames
        self.frame_log: list[dict] = []  # with stamp_frames: each summary sent, when, to which socket
        self.connections: set[TradeConnection] = set()
        self.frames_sent = 0
        self.summaries_sent: Counter[str] = Counter()  # pair → its summaries written to a socket
        self.subscribes = 0
        self._numbers = 0

    async def serve(self, ws: web.WebSocketResponse) -> None:
        self._numbers += 1
        conn = TradeConnection(self._numbers, ws, peer_port(ws))
        self.connections.add(conn)
        writer = asyncio.create_task(self._writer(conn))
        log.info("trade socket #%d connected", conn.number)
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self._on_client_frame(conn, msg.data)
        finally:
            self.connections.discard(conn)
            writer.cancel()
            log.info("trade socket #%d closed", conn.number)

    def _on_client_frame(self, conn: TradeConnection, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        if frame.get("type") == "PING" and self.faults.pong:
            pong = {"type": "PONG"} if conn.pairs else {"type": "PONG", "message": "NO_SUBSCRIPTIONS"}
            conn.queue.put_nowait(pong)
        elif frame.get("type") == "SUBSCRIBE":
            for sub in frame.get("subscriptions") or []:
                if isinstance(sub, dict) and sub.get("event") == MARKET_SUMMARY:
                    self._subscribe(conn, [str(p).upper() for p in sub.get("pairs") or []])

    def _subscribe(self, conn: TradeConnection, pairs: list[str]) -> None:
        self.subscribes += 1
        conn.pairs = {p for p in pairs if self.summary(p) is not None}
        for pair in sorted(conn.pairs):  # "On subscription the latest update is sent immediately."
            self._send(conn, pair)

    def changed(self, pair: str) -> None:
        """The pair's summary changed: every subscriber hears it."""
        for conn in list(self.connections):
            if pair in conn.pairs:
                self._send(conn, pair)

    def _send(self, conn: TradeConnection, pair: str) -> None:
        if self.faults.trade_silent or pair in self.faults.trade_muted_pairs:
            return
        conn.queue.put_nowait({"type": MARKET_SUMMARY, "currencyPairSymbol": pair, "data": self.summary(pair)})

    async def _writer(self, conn: TradeConnection) -> None:
        while True:
            frame = await conn.queue.get()
            if conn.ws.closed:
                return
            await conn.ws.send_str(json.dumps(frame, separators=(",", ":")))
            self.frames_sent += 1
            if frame.get("type") != MARKET_SUMMARY:
                continue
            self.summaries_sent[frame["currencyPairSymbol"]] += 1
            if self.stamp_frames:
                data = frame["data"]
                self.frame_log.append({"pair": frame["currencyPairSymbol"], "bid": data["bidPrice"],
                                       "ask": data["askPrice"], "socket": conn.number, "peer_port": conn.peer_port,
                                       "sent_at": time.time()})

    async def close_all(self, reason: str = "fault injection: close trade sockets") -> int:
        conns = list(self.connections)
        for conn in conns:
            await conn.ws.close(code=1012, message=reason.encode()[:120])
        log.info("closed %d trade socket(s): %s", len(conns), reason)
        return len(conns)


def peer_port(ws: web.WebSocketResponse) -> int | None:
    """The client's port: what tells a bench's sockets apart (a client knows its own local port)."""
    peer = ws.get_extra_info("peername")
    return peer[1] if isinstance(peer, tuple) and len(peer) >= 2 else None
