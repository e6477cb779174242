"""Kraken's WebSocket v2 over the core, public and private channels on one socket path (ccxt's public and
private v2 URLs differ only by host, so at one origin they are the same URL): `ticker` (public),
`executions` and `balances` (private: the subscription carries a token from GetWebSocketsToken), `ping` →
`pong`. Messages go out through one queue per socket, in the order the core told them."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from worker.lab.doubles.core import CANCELED, CLOSED, EXPIRED, OPEN, Order
from worker.lab.doubles.kraken import shapes

SNAPSHOT_TRADES = 50
HEARTBEAT_SECONDS = 1.0  # Kraken: a heartbeat about every second on a socket with a subscription


@dataclass
class Conn:
    ws: web.WebSocketResponse
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    tickers: set[str] = field(default_factory=set)
    executions: str | None = None      # the account whose executions this socket follows
    every_status: bool = True          # order_status=false: only new, filled, canceled, expired
    balances: str | None = None
    sequence: int = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


class KrakenWs:
    """Mixed into the Kraken double: the socket routes, subscriptions and the core's events as messages."""

    def ws_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v2", self._socket)
        router.add_get("/", self._socket)   # ccxt's v1 URLs; the methods we use speak v2

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Conn(ws)
        self.conns.append(conn)
        self.sockets.add(ws)
        writer = asyncio.create_task(self._write(conn))
        heartbeat = asyncio.create_task(self._heartbeat(conn))
        self.send(conn, {"channel": "status", "type": "update", "data": [
            {"version": "2.0.10", "system": "online", "api_version": "v2", "connection_id": id(conn)}]})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_message(conn, msg.data)
        finally:
            writer.cancel()
            heartbeat.cancel()
            self.conns.remove(conn)
            self.sockets.discard(ws)
        return ws

    async def _write(self, conn: Conn) -> None:
        while True:
            message = await conn.queue.get()
            if conn.ws.closed:
                return
            await conn.ws.send_str(json.dumps(message))

    async def _heartbeat(self, conn: Conn) -> None:
        while not conn.ws.closed:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if conn.tickers or conn.executions or conn.balances:
                self.send(conn, {"channel": "heartbeat"})

    def send(self, conn: Conn, message: dict) -> None:
        if not self.faults.get("silent"):  # a silent exchange keeps the socket open and says nothing
            conn.queue.put_nowait(message)

    async def close_sockets(self) -> None:
        for conn in list(self.conns):
            await conn.ws.close()

    # -- requests ------------------------------------------------------------------------------------------
    def _on_message(self, conn: Conn, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            self.send(conn, shapes.ws_envelope("unknown", None, error="Malformed request"))
            return
        method, req_id = request.get("method"), request.get("req_id")
        params = request.get("params") or {}
        if method == "ping":
            self.send(conn, shapes.ws_envelope("pong", req_id))
        elif method == "subscribe":
            self._subscribe(conn, params, req_id)
        elif method == "unsubscribe":
            self._unsubscribe(conn, params, req_id)
        else:
            self.send(conn, shapes.ws_envelope(str(method), req_id, error="Method not found"))

    def _subscribe(self, conn: Conn, params: dict, req_id: Any) -> None:
        channel = params.get("channel")
        if channel == "ticker":
            self._subscribe_ticker(conn, params, req_id)
        elif channel in ("executions", "balances"):
            account = self._token_account(params.get("token"))
            if account is None:
                self.send(conn, shapes.ws_envelope("subscribe", req_id, error="EAccount:Invalid permissions"))
            elif channel == "executions":
                self._subscribe_executions(conn, account, params, req_id)
            else:
                self._subscribe_balances(conn, account, req_id)
        else:
            self.send(conn, shapes.ws_envelope("subscribe", req_id, error="Channel not found"))

    def _token_account(self, token: Any) -> str | None:
        key = self.gate.token_key(str(token)) if token else None
        return self.account_of(key) if key else None

    def _subscribe_ticker(self, conn: Conn, params: dict, req_id: Any) -> None:
        symbols = params.get("symbol") or []
        for symbol in symbols:
            if symbol not in self.exchange.markets:
                self.send(conn, shapes.ws_envelope("subscribe", req_id, error=f"Currency pair not supported {symbol}"))
                continue
            conn.tickers.add(symbol)
            self.send(conn, shapes.ws_envelope("subscribe", req_id, {
                "channel": "ticker", "event_trigger": params.get("event_trigger", "trades"), "snapshot": True,
                "symbol": symbol}))
            self.send(conn, {"channel": "ticker", "type": "snapshot",
                             "data": [shapes.ws_ticker(self.exchange.market(symbol))]})

    def _subscribe_executions(self, conn: Conn, account: str, params: dict, req_id: Any) -> None:
        conn.executions, conn.every_status = account, params.get("order_status", True) is not False
        self.send(conn, shapes.ws_envelope("subscribe", req_id, {
            "channel": "executions", "maxratecount": 180, "snapshot": True}))
        data: list[dict] = []
        if params.get("snap_orders", True):   # Kraken's defaults: open orders yes, trades no
            data += [self._snapshot_order(o) for o in self.exchange.open_orders(account)]
        if params.get("snap_trades", False):
            trades = self.exchange.account_trades(account)[-SNAPSHOT_TRADES:]
            data += [shapes.ws_trade(t, self.exchange.orders[t.order_id], self.trade_no(t)) for t in trades]
        self.send(conn, {"channel": "executions", "type": "snapshot", "data": data,
                         "sequence": conn.next_sequence()})

    def _snapshot_order(self, order: Order) -> dict:
        event = {**shapes.ws_pending_new(order), "exec_type": "new", "order_status": "new"}
        if order.filled:
            event.update(order_status="partially_filled", cum_qty=shapes.num(order.filled),
                         cum_cost=shapes.num(order.cost), avg_price=shapes.num(order.average))
        return event

    def _subscribe_balances(self, conn: Conn, account: str, req_id: Any) -> None:
        conn.balances = account
        self.send(conn, shapes.ws_envelope("subscribe", req_id, {"channel": "balances", "snapshot": True}))
        data = [shapes.ws_balance_snapshot(code, b.total)
                for code, b in sorted(self.exchange.balances_of(account).items())]
        self.send(conn, {"channel": "balances", "type": "snapshot", "data": data, "sequence": conn.next_sequence()})

    def _unsubscribe(self, conn: Conn, params: dict, req_id: Any) -> None:
        channel = params.get("channel")
        if channel == "ticker":
            conn.tickers -= set(params.get("symbol") or [])
        elif channel == "executions":
            conn.executions = None
        elif channel == "balances":
            conn.balances = None
        self.send(conn, shapes.ws_envelope("unsubscribe", req_id, {"channel": channel}))

    # -- the core's events -----------------------------------------------------------------------------------
    def on_change(self, kind: str, obj: Any) -> None:
        if kind == "order":
            self._order_events(obj)
        elif kind == "trade":
            order = self.exchange.orders[obj.order_id]
            self._to_executions(order.account, [shapes.ws_trade(obj, order, self.trade_no(obj))])
        elif kind == "ledger":
            self._to_balances(obj)
        elif kind == "ticker":
            for conn in self.conns:
                if obj.symbol in conn.tickers:
                    self.send(conn, {"channel": "ticker", "type": "update", "data": [shapes.ws_ticker(obj)]})

    def _order_events(self, order: Order) -> None:
        """pending_new then new on first sight; later only the status changes (a fill's own word is its
        trade event): filled, canceled, expired. Each in its own message, as the changes happened."""
        before = self.seen.get(order.id)
        self.seen[order.id] = order.status
        if before is None:
            events = [shapes.ws_pending_new(order), shapes.ws_status(order, "new")]
        elif before == order.status:
            return
        else:
            word = {CLOSED: "filled", CANCELED: "canceled", EXPIRED: "expired"}.get(order.status, "canceled")
            events = [] if order.status == OPEN else [shapes.ws_status(order, word)]
        for event in events:
            self._to_executions(order.account, [event], event["exec_type"] == "pending_new")

    def _to_executions(self, account: str, data: list[dict], transitional: bool = False) -> None:
        for conn in self.conns:
            if conn.executions == account and (conn.every_status or not transitional):
                self.send(conn, {"channel": "executions", "type": "update", "data": data,
                                 "sequence": conn.next_sequence()})

    def _to_balances(self, entry) -> None:
        for conn in self.conns:
            if conn.balances == entry.account:
                self.send(conn, {"channel": "balances", "type": "update",
                                 "data": [shapes.ws_balance_update(entry, self.refid(entry))],
                                 "sequence": conn.next_sequence()})
