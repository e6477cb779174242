"""Binance's sockets as ccxt's `binance` pro uses them for spot: market streams on `/ws/<n>` (and
`/stream?streams=` combined) with `SUBSCRIBE` messages for `<symbol>@ticker`, `@miniTicker` (what ccxt's
watch_ticker asks: last price, no bid or ask) and `@bookTicker` (watch_bids_asks); the user data stream
over the WebSocket API (`/ws-api/v3`, `userDataStream.subscribe.signature`, a SIGNED request) whose events
(`executionReport`, `outboundAccountPosition`, `balanceUpdate`) arrive wrapped as `{"subscriptionId": n,
"event": {...}}`. Each connection sends through its own queue, so events leave in the order the core told
them."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from worker.lab.doubles.binance import shapes
from worker.lab.doubles.binance.auth import BinanceError, check_ws_signed
from worker.lab.doubles.core import OPEN, Market, Order, Trade, now_ms


class Conn:
    """One client socket: what it subscribed and a queue drained in order."""

    def __init__(self, ws: web.WebSocketResponse, silent: Callable[[], bool], combined: bool = False) -> None:
        self.ws, self.silent, self.combined = ws, silent, combined
        self.streams: set[str] = set()
        self.subscriptions: dict[int, str] = {}   # user data subscription id -> account
        self.sub_ids = itertools.count(0)
        self.queue: asyncio.Queue[dict] = asyncio.Queue()
        self.pump = asyncio.ensure_future(self._pump())

    def send(self, message: dict) -> None:
        if not self.silent():  # the `silent` fault: the socket stays open and says nothing
            self.queue.put_nowait(message)

    def send_stream(self, stream: str, payload: dict) -> None:
        if stream in self.streams:
            self.send({"stream": stream, "data": payload} if self.combined else payload)

    async def _pump(self) -> None:
        while True:
            message = await self.queue.get()
            try:
                await self.ws.send_str(json.dumps(message))
            except (ConnectionError, RuntimeError):
                return


class BinanceSockets:
    """The socket half of `BinanceDouble` (a mixin over `DoubleServer`)."""

    def socket_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/ws", self.market_socket)
        router.add_get("/ws/{tail:.*}", self.market_socket)
        router.add_get("/stream", self.market_socket)
        router.add_get("/ws-api/v3", self.api_socket)

    # -- connections ------------------------------------------------------------------------------------
    async def serve(self, request: web.Request, conn_of: Callable[[web.WebSocketResponse], Conn],
                    answer: Callable[[Conn, dict], Awaitable[None]]) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = conn_of(ws)
        self.sockets.add(ws)
        self.conns.add(conn)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    body = json.loads(msg.data)
                except ValueError:
                    conn.send({"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}})
                    continue
                await answer(conn, body)
        finally:
            self.conns.discard(conn)
            self.sockets.discard(ws)
            conn.pump.cancel()
        return ws

    async def market_socket(self, request: web.Request) -> web.WebSocketResponse:
        combined = request.path.startswith("/stream")
        named = request.query.get("streams", "") if combined else request.match_info.get("tail", "")

        def conn_of(ws: web.WebSocketResponse) -> Conn:
            conn = Conn(ws, self.is_silent, combined)
            self.subscribe(conn, [s for s in named.split("/") if "@" in s])
            return conn
        return await self.serve(request, conn_of, self.market_request)

    async def api_socket(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve(request, lambda ws: Conn(ws, self.is_silent), self.api_request)

    def is_silent(self) -> bool:
        return bool(self.faults.get("silent"))

    # -- market streams -----------------------------------------------------------------------------------
    async def market_request(self, conn: Conn, body: dict) -> None:
        method, params, request_id = body.get("method"), body.get("params") or [], body.get("id")
        if method == "SUBSCRIBE":
            conn.send({"result": None, "id": request_id})
            self.subscribe(conn, params)
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
            conn.send({"result": None, "id": request_id})
        elif method == "LIST_SUBSCRIPTIONS":
            conn.send({"result": sorted(conn.streams), "id": request_id})
        else:
            conn.send({"error": {"code": 2, "msg": f"Invalid request: unknown method {method}"}, "id": request_id})

    def subscribe(self, conn: Conn, streams: list[str]) -> None:
        """Add streams; each ticker stream sends the market as it stands at once (Binance's next update
        comes within its 1000 ms cadence; the double's comes now, then on every change)."""
        new = [s for s in streams if s not in conn.streams]
        conn.streams.update(new)
        for market in self.exchange.markets.values():
            for stream, payload in self.market_messages(market):
                if stream in new:
                    conn.send_stream(stream, payload)

    def market_messages(self, market: Market) -> list[tuple[str, dict]]:
        name = shapes.symbol_id(market.symbol).lower()
        self.book_updates += 1
        return [(f"{name}@ticker", shapes.ticker_24hr(market, event=True)),
                (f"{name}@miniTicker", shapes.mini_ticker(market)),
                (f"{name}@bookTicker", shapes.book_ticker(market, self.book_updates))]

    # -- the WebSocket API (user data) ------------------------------------------------------------------
    async def api_request(self, conn: Conn, body: dict) -> None:
        request_id, method, params = body.get("id"), body.get("method"), body.get("params") or {}
        try:
            result = self.api_result(conn, method, params)
        except BinanceError as exc:
            conn.send({"id": request_id, "status": exc.status, "error": exc.body(),
                       "rateLimits": self.ws_rate_limits()})
            return
        conn.send({"id": request_id, "status": 200, "result": result, "rateLimits": self.ws_rate_limits()})

    def api_result(self, conn: Conn, method: str | None, params: dict) -> Any:
        if method == "userDataStream.subscribe.signature":
            account = self.account_of(check_ws_signed(params, self.keys))
            subscription = next(conn.sub_ids)
            conn.subscriptions[subscription] = account
            return {"subscriptionId": subscription}
        if method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            for subscription in [s for s in conn.subscriptions if wanted is None or s == int(wanted)]:
                del conn.subscriptions[subscription]
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": s} for s in conn.subscriptions]
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": now_ms()}
        raise BinanceError(400, -1020, "This operation is not supported.")

    def ws_rate_limits(self) -> list[dict]:
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.limits.weight_per_minute, "count": self.limits.used_weight()}]

    # -- the core's events, as Binance tells them ------------------------------------------------------------
    def on_change(self, kind: str, obj: Any) -> None:
        if kind == "trade":
            self.pending_trades[obj.order_id] = obj  # told with the order's own event that follows
        elif kind == "order":
            self.tell_order(obj, self.pending_trades.pop(obj.id, None))
        elif kind == "ledger" and obj.kind in ("deposit", "withdrawal"):
            self.tell_user(obj.account, shapes.balance_update(obj.currency, obj.amount, obj.ms))
            self.tell_user(obj.account, shapes.account_position({obj.currency: self.exchange.balance(
                obj.account, obj.currency)}))
        elif kind == "ticker":
            for stream, payload in self.market_messages(obj):
                for conn in list(self.conns):
                    conn.send_stream(stream, payload)

    def tell_order(self, order: Order, trade: Trade | None) -> None:
        """One executionReport per change (a trade's carries the trade), then the account's position in
        the order's two assets, as Binance sends them."""
        if trade is not None:
            execution = "TRADE"
        elif order.status == OPEN:
            execution = "NEW"
        else:
            execution = {"canceled": "CANCELED", "expired": "EXPIRED", "rejected": "REJECTED"}[order.status]
        cancel_id = None
        if execution == "CANCELED":
            cancel_id = self.cancel_ids.pop(order.id, None) or shapes.generated_client_id()
        self.tell_user(order.account, shapes.execution_report(order, execution, trade, cancel_id))
        market = self.exchange.market(order.symbol)
        self.tell_user(order.account, shapes.account_position(
            {c: self.exchange.balance(order.account, c) for c in (market.base, market.quote)}))

    def tell_user(self, account: str, event: dict) -> None:
        for conn in list(self.conns):
            for subscription, subscriber in conn.subscriptions.items():
                if subscriber == account:
                    conn.send({"subscriptionId": subscription, "event": event})

    # -- what the double provides (worker/lab/doubles/binance/__init__.py) --------------------------------
    conns: set[Conn]
    sockets: set
    pending_trades: dict[str, Trade]
    cancel_ids: dict[str, str]
    book_updates: int
    faults: dict
    keys: dict[str, str]
    exchange: Any
    limits: Any
