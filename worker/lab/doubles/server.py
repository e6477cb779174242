"""What every exchange double's server shares: one aiohttp port for the exchange's REST and WebSocket
paths, the admin API under `/_double/` (no auth, JSON) over the exchange-neutral core, and the thread that
runs it in-process for tests, the demo and the bench.

A personality subclasses `DoubleServer`: `routes()` adds its exchange's paths, `account_of(api_key)` maps a
key to the core's account (one account per key), and `on_change(kind, obj)` turns a core event into its
socket messages. Admin routes: `POST /_double/fill {orderId|clientOrderId, account?, amount?, price?}`,
`POST /_double/cancel {orderId|clientOrderId, account?, status?: canceled|expired}`, `POST /_double/market
{symbol, bid?, ask?, last?}`, `POST /_double/deposit {account, currency, amount}`, `POST /_double/withdraw
{account, currency, amount, fee?}`, `GET|POST /_double/faults` (the personality's fault words), `GET
/_double/truth` (every order, trade and ledger entry, for ground-truth checks), `GET /_double/requests`
(each REST request's arrival, method and path).

`stamp` (optional, None by default): a callable `stamp(wall_time, text)` told about every socket message a
personality sends, just before it is written (the bench's figure 12 times fill events from it). Every
socket a personality adds to `self.sockets` is covered, whatever writer it uses (`send_str`, `send_json`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from decimal import Decimal
from collections.abc import Callable
from typing import Any

from aiohttp import web

from worker.lab.doubles.core import DoubleError, DoubleExchange


def plain(value: Decimal | None) -> str | None:
    """A decimal as exchanges print it: no exponent, no trailing zeros."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class DoubleServer:
    name = "double"

    def __init__(self, exchange: DoubleExchange, keys: dict[str, str]) -> None:
        self.exchange = exchange
        self.keys = dict(keys)               # api key -> secret (a passphrase, where used, in `passphrases`)
        self.faults: dict[str, Any] = {}
        self.requests: list[dict] = []
        self.stamp: Callable[[float, str], None] | None = None
        self.sockets: set[web.WebSocketResponse] = StampedSockets(self)
        self.app = web.Application(middlewares=[self._log_request])
        self.app.router.add_post("/_double/fill", self._admin_fill)
        self.app.router.add_post("/_double/cancel", self._admin_cancel)
        self.app.router.add_post("/_double/market", self._admin_market)
        self.app.router.add_post("/_double/deposit", self._admin_deposit)
        self.app.router.add_post("/_double/withdraw", self._admin_withdraw)
        self.app.router.add_get("/_double/faults", self._admin_faults)
        self.app.router.add_post("/_double/faults", self._admin_faults)
        self.app.router.add_get("/_double/truth", self._admin_truth)
        self.app.router.add_get("/_double/requests", self._admin_requests)
        self.routes(self.app.router)
        exchange.listeners.append(self.on_change)
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    def __repr__(self) -> str:  # never the keys' secrets
        return f"{type(self).__name__}({self.base_url or 'not started'})"

    # -- for the personality ----------------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    def account_of(self, api_key: str) -> str:
        return api_key

    def on_change(self, kind: str, obj: Any) -> None:
        """A core event (order, trade, balance, ledger, ticker): the personality's socket messages."""

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self.runner = web.AppRunner(self.app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
        self.base_url = f"http://{bound[0]}:{bound[1]}"
        return self.base_url

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    @web.middleware
    async def _log_request(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/_double/"):
            self.requests.append({"at": time.time(), "method": request.method, "path": request.path})
        return await handler(request)

    # -- admin ----------------------------------------------------------------------------------------------
    def _admin_order(self, body: dict):
        account = body.get("account") or next(iter(self.keys), "")
        return self.exchange.order(self.account_of(account) if account in self.keys else account,
                                   body.get("orderId"), body.get("clientOrderId"))

    async def _admin_fill(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            order = self._admin_order(body)
            trade = self.exchange.fill(order, _dec(body.get("amount")), _dec(body.get("price")))
        except DoubleError as exc:
            return web.json_response({"error": exc.kind, "message": exc.message}, status=400)
        return web.json_response({"tradeId": trade.id, "orderId": order.id, "status": order.status})

    async def _admin_cancel(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            order = self._admin_order(body)
            self.exchange.cancel(order.account, order.id, status=body.get("status", "canceled"))
        except DoubleError as exc:
            return web.json_response({"error": exc.kind, "message": exc.message}, status=400)
        return web.json_response({"orderId": order.id, "status": order.status})

    async def _admin_market(self, request: web.Request) -> web.Response:
        body = await request.json()
        market = self.exchange.set_market(body["symbol"], _dec(body.get("bid")), _dec(body.get("ask")),
                                          _dec(body.get("last")))
        return web.json_response({"symbol": market.symbol, "bid": plain(market.bid), "ask": plain(market.ask)})

    async def _admin_deposit(self, request: web.Request) -> web.Response:
        body = await request.json()
        entry = self.exchange.deposit(self._admin_account(body), body["currency"], Decimal(str(body["amount"])))
        return web.json_response({"id": entry.id})

    async def _admin_withdraw(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            entry = self.exchange.withdraw(self._admin_account(body), body["currency"], Decimal(str(body["amount"])),
                                           Decimal(str(body.get("fee", "0"))))
        except DoubleError as exc:
            return web.json_response({"error": exc.kind, "message": exc.message}, status=400)
        return web.json_response({"id": entry.id})

    def _admin_account(self, body: dict) -> str:
        account = body.get("account") or next(iter(self.keys), "")
        return self.account_of(account) if account in self.keys else account

    async def _admin_faults(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await request.json()
            if body.get("reset"):
                self.faults.clear()
            self.faults.update({k: v for k, v in body.items() if k != "reset"})
        return web.json_response(self.faults)

    async def _admin_truth(self, request: web.Request) -> web.Response:
        ex = self.exchange
        return web.json_response({
            "orders": [{"id": o.id, "clientOrderId": o.client_id, "account": o.account, "symbol": o.symbol,
                        "side": o.side, "type": o.type, "amount": plain(o.amount), "price": plain(o.price),
                        "filled": plain(o.filled), "status": o.status} for o in ex.orders.values()],
            "trades": [{"id": t.id, "orderId": t.order_id, "account": t.account, "symbol": t.symbol,
                        "price": plain(t.price),
                        "amount": plain(t.amount), "fee": plain(t.fee), "feeCurrency": t.fee_currency}
                       for t in ex.trades],
            "ledger": [{"id": e.id, "account": e.account, "currency": e.currency, "amount": plain(e.amount),
                        "kind": e.kind, "fee": plain(e.fee)} for e in ex.ledger],
        })

    async def _admin_requests(self, request: web.Request) -> web.Response:
        return web.json_response(self.requests)


class StampedSockets(set):
    """The double's open sockets: each one added has its sends told to the server's `stamp`, when set."""

    def __init__(self, server: DoubleServer) -> None:
        super().__init__()
        self._server = server

    def add(self, ws: web.WebSocketResponse) -> None:
        if ws not in self:
            send = ws.send_str
            server = self._server

            async def send_str(data: str, *args: Any, **kwargs: Any) -> None:
                if server.stamp is not None:
                    server.stamp(time.time(), data)
                await send(data, *args, **kwargs)

            ws.send_str = send_str  # type: ignore[method-assign]  (send_json goes through it too)
        super().add(ws)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


class DoubleThread:
    """A double in a background thread with its own event loop: `with DoubleThread(server) as d: d.base_url`."""

    def __init__(self, server: DoubleServer, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = server
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.base_url = ""

    def __repr__(self) -> str:
        return f"DoubleThread({self.server!r})"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name=f"{self.server.name}-double", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if not self.base_url:
            raise RuntimeError("the double did not start within 10 s")
        return self.base_url

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self.base_url = loop.run_until_complete(self.server.start(self._host, self._port))
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self.server.stop())
        loop.close()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` on the double's loop (the core is not thread-safe) and return its result."""
        assert self._loop is not None
        async def run() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "DoubleThread":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
