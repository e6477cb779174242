"""Coinbase Advanced Trade's market-data WebSocket (wss://advanced-trade-ws.coinbase.com, one path: `/`),
the channels ccxt's `coinbase` pro class subscribes to: `user` (signed; watch_orders), `ticker` and
`ticker_batch` (watch_ticker / watch_tickers), plus `heartbeats`. Every message is the documented envelope
{channel, client_id, timestamp, sequence_num, events}; sequence_num counts the connection's messages.

Each socket has a queue and one writer, so messages leave in the order the core told them. A connection
that has subscribed to nothing within `subscribe_within_s` (5 s, Coinbase's WebSocket overview: the
subscribe message is mandatory) is closed.
Faults: `silent` (sockets stay open, nothing is sent: what would have been is lost), `close_sockets`
(closes every socket once), `idle_close_seconds: n` (Coinbase: "most channels close within 60-90 seconds
if no updates are sent"; a channel that sent nothing for n seconds is dropped without a word unless
`heartbeats` is subscribed on the connection; off unless set).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from worker.lab.doubles.coinbase import shapes
from worker.lab.doubles.coinbase.auth import Refusal
from worker.lab.doubles.core import Market, Order

PUBLIC = {"ticker", "ticker_batch", "heartbeats"}
SNAPSHOT_BATCH = 50  # open orders per snapshot event (Coinbase's `user` channel reference)


@dataclass
class Feed:
    """One client connection: its channels (channel → product ids; empty = every product) and its queue."""
    ws: web.WebSocketResponse
    channels: dict[str, set[str]] = field(default_factory=dict)
    account: str | None = None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    sequence: itertools.count = field(default_factory=itertools.count)
    heartbeat: itertools.count = field(default_factory=lambda: itertools.count(1))
    last_sent: dict[str, float] = field(default_factory=dict)  # channel → when it last sent (monotonic)
    subscribed: bool = False

    def wants(self, channel: str, product: str) -> bool:
        products = self.channels.get(channel)
        return products is not None and (not products or product in products)


class CoinbaseSockets:
    """Mixin of `CoinbaseDouble`: the WebSocket. Needs `exchange`, `faults`, `sockets`, `configs`,
    `check_subscribe(message)`."""

    subscribe_within_s = 5.0

    def ws_routes(self, router: web.UrlDispatcher) -> None:
        self.feeds: dict[web.WebSocketResponse, Feed] = {}
        router.add_get("/", self._socket)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        feed = Feed(ws)
        self.sockets.add(ws)
        self.feeds[ws] = feed
        writer = asyncio.ensure_future(self._write(feed))
        deadline = asyncio.get_running_loop().call_later(self.subscribe_within_s, self._close_unsubscribed, feed)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._on_message(feed, frame.data)
        finally:
            deadline.cancel()
            writer.cancel()
            self.sockets.discard(ws)
            self.feeds.pop(ws, None)
        return ws

    async def _write(self, feed: Feed) -> None:
        while not feed.ws.closed:
            idle = self.faults.get("idle_close_seconds")
            try:
                message = await asyncio.wait_for(feed.queue.get(), min(1.0, float(idle) / 2) if idle else 1.0)
            except asyncio.TimeoutError:
                if idle and "heartbeats" not in feed.channels:
                    self._close_idle(feed, float(idle))
                if "heartbeats" not in feed.channels or time.monotonic() - feed.last_sent.get("heartbeats", 0) < 1:
                    continue
                message = self._envelope(feed, "heartbeats", [{"current_time": shapes.iso(int(time.time() * 1000)),
                                                               "heartbeat_counter": next(feed.heartbeat)}])
            if self.faults.get("silent"):
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):
                await feed.ws.send_str(json.dumps(message))

    @staticmethod
    def _close_idle(feed: Feed, idle: float) -> None:
        now = time.monotonic()
        for channel in [c for c in feed.channels if now - feed.last_sent.get(c, now) > idle]:
            feed.channels.pop(channel)

    @staticmethod
    def _envelope(feed: Feed, channel: str, events: list[dict]) -> dict:
        feed.last_sent[channel] = time.monotonic()
        return {"channel": channel, "client_id": "", "timestamp": shapes.iso(int(time.time() * 1000)),
                "sequence_num": next(feed.sequence), "events": events}

    def _send(self, feed: Feed, channel: str, events: list[dict]) -> None:
        feed.queue.put_nowait(self._envelope(feed, channel, events))

    # -- subscribe / unsubscribe ---------------------------------------------------------------------------
    def _on_message(self, feed: Feed, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return self._error(feed, "malformed message")
        channel, kind = message.get("channel"), message.get("type")
        if kind not in ("subscribe", "unsubscribe") or (channel not in PUBLIC and channel != "user"):
            return self._error(feed, f"unsupported channel or type: {channel} {kind}")
        products = {str(p) for p in message.get("product_ids") or []}
        if channel == "user":
            try:
                feed.account = self.check_subscribe(message)
            except Refusal as refusal:
                return self._error(feed, refusal.reason)
        if kind == "unsubscribe":
            feed.channels.pop(channel, None)
        else:
            feed.subscribed = True
            feed.channels.setdefault(channel, set()).update(products)
            self._snapshot(feed, channel, products)
        self._send(feed, "subscriptions", [{"subscriptions": {c: sorted(p) for c, p in feed.channels.items()}}])

    @staticmethod
    def _close_unsubscribed(feed: Feed) -> None:
        if not feed.subscribed:
            asyncio.ensure_future(feed.ws.close())

    def _error(self, feed: Feed, message: str) -> None:
        feed.queue.put_nowait({"type": "error", "message": message})

    def _snapshot(self, feed: Feed, channel: str, products: set[str]) -> None:
        if channel == "user":
            orders = [o for o in self.exchange.open_orders(feed.account or "") if feed.wants("user", self._pid(o))]
            batches = [orders[i:i + SNAPSHOT_BATCH] for i in range(0, len(orders), SNAPSHOT_BATCH)] or [[]]
            for batch in batches:
                self._send(feed, "user", [{"type": "snapshot", "orders": [self._order_ws(o) for o in batch],
                                           "positions": {"perpetual_futures_positions": [],
                                                         "expiring_futures_positions": []}}])
        elif channel in ("ticker", "ticker_batch"):
            markets = [m for m in self.exchange.markets.values() if not products or shapes.product_id(m) in products]
            self._send(feed, channel, [{"type": "snapshot", "tickers": [shapes.ticker(m) for m in markets]}])

    # -- the core's changes → messages ---------------------------------------------------------------------
    def _pid(self, order: Order) -> str:
        return shapes.product_id(self.exchange.market(order.symbol))

    def _order_ws(self, order: Order) -> dict:
        return shapes.order_ws(order, self.exchange.market(order.symbol), self.configs.get(order.id, {}))

    def tell_sockets(self, kind: str, obj: Any) -> None:
        if kind == "order":
            self._order_update(obj)
        elif kind == "ticker":
            self._ticker_update(obj)

    def _order_update(self, order: Order) -> None:
        for feed in list(self.feeds.values()):
            if feed.account == order.account and feed.wants("user", self._pid(order)):
                self._send(feed, "user", [{"type": "update", "orders": [self._order_ws(order)]}])

    def _ticker_update(self, market: Market) -> None:
        for feed in list(self.feeds.values()):
            for channel in ("ticker", "ticker_batch"):
                if feed.wants(channel, shapes.product_id(market)):
                    self._send(feed, channel, [{"type": "update", "tickers": [shapes.ticker(market)]}])

    async def close_sockets(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
