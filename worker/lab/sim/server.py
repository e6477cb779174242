"""The simulator: one aiohttp app on one port serving VALR's REST paths, /ws/account and the /_sim/
admin API. aiohttp (not the websockets server) because it answers HTTP requests with a body and
WebSocket upgrades on the same port."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from worker.lab.sim.auth import AuthRefused, Verifier
from worker.lab.sim.balances import Balances
from worker.lab.sim.book import Exchange, Order, decimal_field
from worker.lab.sim.ledger import PRIMARY_ID, Query, account_id
from worker.lab.sim.pairs import CATALOGUE, PAIRS, order_types
from worker.lab.sim.shapes import SimError, now_iso, num
from worker.lab.sim.config import SimConfig
from worker.lab.sim.faults import Faults
from worker.lab.sim.hub import Hub
from worker.lab.sim.market import Market
from worker.lab.sim.matching import Matcher
from worker.lab.sim.trade import TradeFeed
from worker.valr.rest import parse_time
from worker.valr.signing import SUBACCOUNT_HEADER

log = logging.getLogger("worker.lab.sim")

JSON_TYPES = ("application/json",)


class Simulator:
    """`sim = Simulator(key, secret, config=SimConfig(...)); await sim.start(); sim.base_url; await sim.stop()`"""

    def __init__(self, api_key: str, api_secret: str, *, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.api_key = api_key
        self.verifier = Verifier(api_key, api_secret, self.config.timestamp_window_ms)
        self.faults = Faults()
        self.rng = random.Random(self.config.seed)
        self.hub = Hub(self.faults, self.rng, self.config.stamp_frames)
        self.market = Market({p: r.tick_size for p, r in PAIRS.items()}, spread=self.config.market_spread,
                             volatility=self.config.market_volatility, seed=self.config.seed)
        self.exchange = Exchange(self._emit, self.config.taker_fee_rate, market=self.market, balances=Balances(),
                                 take_on_placement=self.config.mode == "market")
        self.trade_feed = TradeFeed(self.faults, self._summary, self.config.stamp_frames)
        self.market.on_summary.append(self.trade_feed.changed)
        self._walk: asyncio.Task | None = None
        self.matcher = Matcher(self.exchange, self.config, self.rng, self.faults)
        self.exchange.on_placed = self.matcher.placed
        self.exchange.fill_on_socket = lambda: not self.faults.take_fill_off_socket()
        self.exchange.reservation_updates = lambda: self.faults.reservation_updates
        self.rest_counts: Counter[str] = Counter()
        self.request_log: list[dict] = []  # with stamp_frames: every REST request, when it arrived (the bench)
        self.ws_connections = 0       # account sockets
        self.trade_connections = 0
        self.spike_reverts: list[dict] = []  # each `spike`'s end: when the market was put back, and to what
        self.subscribe_requests: list[dict] = []   # every SUBSCRIBE a client sent on an account socket
        self.ws_refused = 0
        self._minute_counts: dict[tuple[str, int], int] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def __repr__(self) -> str:
        return f"Simulator({self.base_url or 'not started'}, mode={self.config.mode})"

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        # shutdown_timeout: at stop, a request still held (a "drop" fault's hold_s) is abandoned after a
        # second, not aiohttp's 60 s (a test's teardown waited for it).
        self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        self.base_url = f"http://{shown}:{bound[1]}"
        log.info("VALR simulator listening on %s (mode %s, limits %s)", self.base_url, self.config.mode,
                 "on" if self.config.enforce_limits else "off")
        if self.config.walk_every_s:
            self._walk = asyncio.create_task(self._walk_market(self.config.walk_every_s))
        return self.base_url

    async def _walk_market(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            self.market.step()

    async def stop(self) -> None:
        if self._walk is not None:
            self._walk.cancel()
        await self.matcher.stop()
        await self.hub.close_all("simulator stopping")
        await self.trade_feed.close_all("simulator stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._valr_middleware])
        r = app.router
        r.add_get("/v1/public/time", self.public_time)
        r.add_get("/v1/public/pairs", self.public_pairs)
        r.add_get("/v1/public/ordertypes", self.public_order_types)
        r.add_get("/v1/public/{pair}/ordertypes", self.public_pair_order_types)
        r.add_get("/v1/public/marketsummary", self.public_market_summaries)
        r.add_get("/v1/public/{pair}/marketsummary", self.public_market_summary)
        r.add_post("/v1/orders/limit", self.place_limit)
        r.add_post("/v1/orders/market", self.place_market)
        r.add_get("/v1/orders/open", self.open_orders)
        r.add_delete("/v1/orders/order", self.cancel_order)
        r.add_get("/v1/orders/history/detail/orderid/{id}", self.history_detail)
        r.add_get("/v1/orders/history/detail/customerorderid/{id}", self.history_detail)
        r.add_get("/v1/orders/history/summary/orderid/{id}", self.history_summary)
        r.add_get("/v1/orders/history/summary/customerorderid/{id}", self.history_summary)
        r.add_get("/v1/orders/{pair}/orderid/{id}", self.order_status)
        r.add_get("/v1/orders/{pair}/customerorderid/{id}", self.order_status)
        r.add_get("/v1/account/balances", self.balances)
        r.add_get("/v1/account/balances/all", self.balances_all)
        r.add_get("/v1/account/subaccounts", self.subaccounts)
        r.add_post("/v1/account/subaccounts/transfer", self.transfer)
        r.add_get("/v1/account/transactionhistory", self.transaction_history)
        r.add_get("/v1/account/transactionhistory/subaccounts", self.transaction_history_all)
        r.add_get("/v1/account/tradehistory", self.trade_history)
        r.add_get("/v1/account/{pair}/tradehistory", self.trade_history)
        r.add_get("/ws/account", self.account_socket)
        r.add_get("/ws/trade", self.trade_socket)
        r.add_get("/_sim/truth", self.admin_truth)
        r.add_get("/_sim/counters", self.admin_counters)
        r.add_post("/_sim/counters/reset", self.admin_counters_reset)
        r.add_get("/_sim/frames", self.admin_frames)
        r.add_get("/_sim/trade_frames", self.admin_trade_frames)
        r.add_get("/_sim/requests", self.admin_requests)
        r.add_get("/_sim/faults", self.admin_faults)
        r.add_post("/_sim/faults", self.admin_faults)
        r.add_get("/_sim/market", self.admin_market)
        r.add_post("/_sim/market", self.admin_market)
        r.add_get("/_sim/balances", self.admin_balances)
        r.add_post("/_sim/balances", self.admin_balances)
        r.add_get("/_sim/ledger", self.admin_ledger)
        for action in ("deposit", "withdraw", "transfer"):
            r.add_post(f"/_sim/{action}", self.admin_money)
        for action in ("fill", "cancel", "expire", "fail"):
            r.add_post(f"/_sim/{action}", self.admin_order_action)
        return app

    # ---- the VALR envelope: counting, latency, injected errors, rate limits ---------------------

    @web.middleware
    async def _valr_middleware(self, request: web.Request, handler):
        if request.path.startswith("/_sim/"):
            return await handler(request)
        route = request.match_info.route.resource
        template = route.canonical if route is not None else request.path
        if template in ("/ws/account", "/ws/trade"):
            return await handler(request)
        self.rest_counts[f"{request.method} {template}"] += 1
        log.debug("%s %s", request.method, request.path_qs)
        if self.config.stamp_frames:
            await self._log_request(request, f"{request.method} {template}")
        response = await self._answer(request, handler, template)
        if self.faults.latency_ms:
            # After the work is done: a slow answer, not a slow exchange (a timed-out placement may
            # well have been accepted, as on VALR).
            await asyncio.sleep(self.faults.latency_ms / 1000)
        return response

    async def _log_request(self, request: web.Request, route: str) -> None:
        """The request's arrival time, route, subaccount and the order it names (body or path)."""
        entry = {"route": route, "received_at": time.time(),
                 "subaccountId": request.headers.get(SUBACCOUNT_HEADER, "")}
        body = _json_body_or_none(await request.text()) if request.body_exists else None
        for key in ("orderId", "customerOrderId"):
            if isinstance(body, dict) and body.get(key):
                entry[key] = str(body[key])
        if "id" in request.match_info:
            entry["orderId" if "/orderid/" in request.path else "customerOrderId"] = request.match_info["id"]
        self.request_log.append(entry)

    async def _answer(self, request: web.Request, handler, template: str) -> web.StreamResponse:
        injected = self.faults.take_rest_error(f"{request.method} {template}")
        if injected is not None and injected.status == 0:  # "drop": hang, then no answer at all
            await asyncio.sleep(injected.hold_s)
            self._drop_answer(request)
        if injected is not None:
            return _status_page(injected.status, injected.retry_after)
        if self.config.enforce_limits and not template.startswith("/v1/public/"):
            if self._over_budget(request):
                return _status_page(429, None)
        try:
            return await handler(request)
        except SimError as exc:
            return _error(exc.status, exc.code, exc.message)
        except AuthRefused as exc:
            return _error(exc.status, exc.code, exc.message)

    def _over_budget(self, request: web.Request) -> bool:
        """VALR counts per calendar minute: 2,000 per key and 1,200 per IP; orders 400 per second."""
        minute = int(time.time() // 60)
        checks = [(("key", minute), self.config.rest_per_minute_key),
                  ((f"ip:{request.remote}", minute), self.config.rest_per_minute_ip)]
        if request.method == "POST" and request.path.startswith("/v1/orders"):
            checks.append((("orders", int(time.time())), self.config.orders_per_second))
        over = False
        for key, limit in checks:
            count = self._minute_counts.get(key, 0) + 1
            self._minute_counts[key] = count
            over = over or count > limit
        if len(self._minute_counts) > 1000:
            self._minute_counts = {k: v for k, v in self._minute_counts.items() if k[1] >= minute}
        return over

    async def _authenticate(self, request: web.Request) -> tuple[str, str]:
        """(subaccount id, body text). VALR: POST/PUT/PATCH without application/json → 403."""
        body = await request.text() if request.body_exists else ""  # read once, kept by aiohttp
        if request.method in ("POST", "PUT", "PATCH") and request.content_type not in JSON_TYPES:
            raise AuthRefused(403, -1, "Content-Type must be application/json")
        subaccount = self.verifier.verify(request.headers, request.method, request.raw_path, body)
        return subaccount, body

    # ---- public -----------------------------------------------------------------------------------

    async def public_time(self, request: web.Request) -> web.Response:
        now = time.time()
        stamp = datetime.utcfromtimestamp(now).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
        return web.json_response({"epochTime": int(now), "time": stamp})

    async def public_pairs(self, request: web.Request) -> web.Response:
        return web.json_response(CATALOGUE)

    async def public_order_types(self, request: web.Request) -> web.Response:
        listed = order_types()
        if request.query.get("includeInactivePairs", "true").lower() == "false":
            listed = [p for p in listed if p["orderTypes"]]
        return web.json_response(listed)

    async def public_pair_order_types(self, request: web.Request) -> web.Response:
        pair = request.match_info["pair"].upper()
        for item in order_types():
            if item["currencyPair"] == pair:
                return web.json_response(item["orderTypes"])
        raise SimError(400, -21, "Unsupported Currency Pair")

    def _summary(self, pair: str) -> dict | None:
        quote = self.market.quote(pair)
        return quote.summary() if quote is not None else None

    async def public_market_summary(self, request: web.Request) -> web.Response:
        summary = self._summary(request.match_info["pair"])
        if summary is None:
            raise SimError(400, -1, f"Invalid currency pair: {request.match_info['pair']!r}")
        return web.json_response(summary)

    async def public_market_summaries(self, request: web.Request) -> web.Response:
        return web.json_response([q.summary() for q in self.market.quotes.values()])

    # ---- orders -----------------------------------------------------------------------------------

    async def place_limit(self, request: web.Request) -> web.Response:
        subaccount, text = await self._authenticate(request)
        body = _json_body(text)
        if self.faults.duplicate_refusal and isinstance(body, dict) and body.get("customerOrderId") and \
                self.exchange.open_with_customer_order_id(subaccount, str(body["customerOrderId"])):
            raise SimError(400, -11502, "Duplicate customer order id's are not allowed")
        return self._accepted(request, self.exchange.accept(subaccount, body))

    async def place_market(self, request: web.Request) -> web.Response:
        """POST /v1/orders/market (V1): 202 like a limit order; a refusal (Insufficient Balance, the
        slippage band) arrives afterwards as a Failed status, by WebSocket or the status endpoint."""
        subaccount, text = await self._authenticate(request)
        return self._accepted(request, self.exchange.accept_market(subaccount, _json_body(text)))

    def _accepted(self, request: web.Request, order: Order) -> web.Response:
        fail = self.matcher.processing_fault()
        loop = asyncio.get_running_loop()
        loop.call_later(self.config.process_delay_s, self.exchange.process, order, fail)
        amount = num(order.quantity) if order.quote_amount is None else f"{num(order.quote_amount)} (quote)"
        log.info("%s accepted %s %s %s %s @ %s (%s)", _who(order.subaccount_id), order.order_type,
                 order.side, amount, order.pair, num(order.price), order.customer_order_id or order.order_id)
        if self.faults.lose_placement_answers > 0:
            self.faults.lose_placement_answers -= 1
            log.info("fault: dropping the answer to placement %s", order.order_id)
            self._drop_answer(request)
        return web.json_response({"id": order.order_id, "customerOrderId": order.customer_order_id}, status=202)

    @staticmethod
    def _drop_answer(request: web.Request) -> None:
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError()

    async def order_status(self, request: web.Request) -> web.Response:
        subaccount, _ = await self._authenticate(request)
        order = self._lookup(request, subaccount)
        if order.pair != request.match_info["pair"].upper():
            raise SimError(400, -1, "Invalid Order. ")
        return web.json_response(order.status_view())

    async def history_detail(self, request: web.Request) -> web.Response:
        subaccount, _ = await self._authenticate(request)
        order = self._lookup(request, subaccount, empty_ok=True)
        return web.json_response(list(reversed(order.snapshots)) if order else [])

    async def history_summary(self, request: web.Request) -> web.Response:
        subaccount, _ = await self._authenticate(request)
        order = self._lookup(request, subaccount)
        if order.is_open:
            raise SimError(400, -1, "Invalid Order. ")
        trades = [t for t in self.exchange.trades if t["orderId"] == order.order_id]
        total = sum((Decimal(t["price"]) * Decimal(t["quantity"]) for t in trades), Decimal(0))
        fee = sum((Decimal(t["fee"]) for t in trades), Decimal(0))
        view = order.status_view()
        view.update(averagePrice=num(total / order.filled) if order.filled else "0", total=num(total),
                    totalExecutedQuantity=num(order.filled), totalFee=num(fee),
                    feeCurrency=trades[0]["feeCurrency"] if trades else "")
        return web.json_response(view)

    def _lookup(self, request: web.Request, subaccount: str, empty_ok: bool = False) -> Order | None:
        ident = request.match_info["id"]
        by_customer = "customerorderid" in request.path
        order = self.exchange.find(subaccount, order_id=None if by_customer else ident,
                                   customer_order_id=ident if by_customer else None)
        if order is None and not empty_ok:
            raise SimError(400, -1, "Invalid Order. ")
        return order

    async def balances(self, request: web.Request) -> web.Response:
        """GET /v1/account/balances: signed and read-only (what the worker checks its key with). A wrong
        key is refused like any signed request: 401 "Invalid API key"."""
        subaccount, _ = await self._authenticate(request)
        return web.json_response(self._balance_items(subaccount, request.query.get("excludeZeroBalances") == "true"))

    def _balance_items(self, subaccount: str, exclude_zero: bool) -> list[dict]:
        balances = self.exchange.balances
        items = [balances.rest_view(subaccount, c) for c in balances.of(subaccount)]
        return [i for i in items if i["total"] != "0"] if exclude_zero else items

    # ---- the account ledger: balances and transaction history, per account and across subaccounts --

    async def _primary(self, request: web.Request) -> str:
        """Routes only a primary account's key may call (VALR: "Can only be called using a primary
        account API key"). VALR: "Requests that may only be performed on the Primary account will fail
        with a "401: Unauthorized" response if the subaccount ID is included"; a subaccount's own key
        (fault key_not_primary) is refused alike. The code and text are the simulator's own."""
        subaccount, text = await self._authenticate(request)
        if subaccount or self.faults.key_not_primary:
            raise SimError(401, -1, "Unauthorized: only a primary account API key may call this route")
        return text

    def _labels(self) -> dict[str, str]:
        return {sub: f"Subaccount {sub}" for sub in self._subaccount_ids()}

    def _subaccount_ids(self) -> list[str]:
        known = dict.fromkeys(self.exchange.balances.accounts() + self.exchange.ledger.subaccounts())
        return [sub for sub in known if sub]

    async def balances_all(self, request: web.Request) -> web.Response:
        """GET /v1/account/balances/all: every account's non-zero balances, grouped, the primary as "0"."""
        await self._primary(request)
        labels = self._labels()
        return web.json_response([{"account": {"label": labels.get(sub, "Primary"), "id": sub or PRIMARY_ID},
                                   "balances": self._balance_items(sub, exclude_zero=True)}
                                  for sub in self._subaccount_ids() + [""]])

    async def subaccounts(self, request: web.Request) -> web.Response:
        await self._primary(request)
        return web.json_response([{"label": label, "id": sub} for sub, label in self._labels().items()] +
                                 [{"label": "Primary", "id": PRIMARY_ID}])

    async def transfer(self, request: web.Request) -> web.Response:
        """POST /v1/account/subaccounts/transfer: 202, then the transfer (VALR: asynchronous; a subaccount
        may only transfer from itself)."""
        subaccount, text = await self._authenticate(request)
        body = _json_body(text)
        try:
            from_id, to_id = account_id(body["fromId"]), account_id(body["toId"])
            currency, amount = str(body["currencyCode"]).upper(), decimal_field(body, "amount")
        except (KeyError, TypeError):
            raise SimError(400, -11, "Validation Failed: fromId, toId, currencyCode and amount are required") from None
        if subaccount and from_id != subaccount:
            raise SimError(403, -1, "A subaccount may only transfer from itself")
        if not self.exchange.balances.can_spend(from_id, currency, amount):
            raise SimError(400, -1, "Insufficient Balance")
        asyncio.get_running_loop().call_soon(self.exchange.ledger.transfer, from_id, to_id, currency, amount)
        return web.Response(status=202)

    async def transaction_history(self, request: web.Request) -> web.Response:
        subaccount, _ = await self._authenticate(request)
        return web.json_response(self.exchange.ledger.page(subaccount, Query.parse(request.query)))

    async def transaction_history_all(self, request: web.Request) -> web.Response:
        await self._primary(request)
        return web.json_response(self.exchange.ledger.across(Query.parse(request.query), self._labels()))

    async def open_orders(self, request: web.Request) -> web.Response:
        subaccount, _ = await self._authenticate(request)
        return web.json_response([o.open_view("remainingQuantity") for o in self.exchange.open_orders(subaccount)])

    async def cancel_order(self, request: web.Request) -> web.Response:
        subaccount, text = await self._authenticate(request)
        body = _json_body(text)
        if not isinstance(body, dict) or not body.get("pair") or \
                bool(body.get("orderId")) == bool(body.get("customerOrderId")):
            raise SimError(400, -11, "Validation Failed: give pair and exactly one of orderId, customerOrderId")
        order = self.exchange.find(subaccount, order_id=body.get("orderId"),
                                   customer_order_id=body.get("customerOrderId"))
        if order is None or order.pair != str(body["pair"]).upper():
            raise SimError(400, -1, "Invalid Order. ")
        faults = self.faults
        if faults.fill_before_cancel > 0 and order.is_open:
            faults.fill_before_cancel -= 1
            log.info("fault: order %s fills before its cancel is processed", order.order_id)
            self.exchange.fill(order)  # the cancel that follows finds it finished: FAILED_CANCEL_ORDER
        # 202 at once; the outcome comes later on the account socket, as on VALR: the order's
        # "Cancelled" update, or FAILED_CANCEL_ORDER (not open any more, or refused by the fault).
        loop = asyncio.get_running_loop()
        if faults.refuse_cancels > 0 and order.is_open:
            faults.refuse_cancels -= 1
            loop.call_soon(self.exchange.refuse_cancel, order)
        else:
            loop.call_later(faults.cancel_delay_ms / 1000, self.exchange.cancel, order)
        if faults.lose_cancel_answers > 0:
            faults.lose_cancel_answers -= 1
            log.info("fault: dropping the answer to the cancel of %s", order.order_id)
            self._drop_answer(request)
        return web.Response(status=202)

    async def trade_history(self, request: web.Request) -> web.Response:
        subaccount, _ = await self._authenticate(request)
        q = request.query
        try:
            limit = min(int(q.get("limit", "100")), 100)
            skip = int(q.get("skip", "0"))
            start = _iso(q["startTime"]) if q.get("startTime") else None
            end = _iso(q["endTime"]) if q.get("endTime") else None
        except ValueError:
            raise SimError(400, -11, "Validation Failed: bad skip, limit, startTime or endTime") from None
        pair = request.match_info.get("pair")
        rows = self.exchange.trade_history(subaccount, pair.upper() if pair else None, limit=limit, skip=skip,
                                           before_id=q.get("beforeId"), start=start, end=end)
        return web.json_response(rows)

    # ---- account WebSocket ------------------------------------------------------------------------

    async def _accept_socket(self, request: web.Request) -> tuple[str, web.StreamResponse]:
        """(subaccount, the open WebSocket) for a signed upgrade within the connection budget, else
        ("", the refusal)."""
        subaccount, refusal = self._refuse_socket(request)
        if refusal is not None:
            return "", refusal
        ws = web.WebSocketResponse(max_msg_size=4 * 2**20)
        await ws.prepare(request)
        return subaccount, ws

    def _refuse_socket(self, request: web.Request) -> tuple[str, web.Response | None]:
        try:
            subaccount = self.verifier.verify(request.headers, "GET", request.raw_path, "")
        except AuthRefused as exc:
            self.ws_refused += 1
            log.info("refused %s socket: %s", request.path, exc.message)
            return "", _error(exc.status, exc.code, exc.message)
        if self.config.enforce_limits:
            minute = int(time.time() // 60)
            count = self._minute_counts.get(("ws", minute), 0) + 1
            self._minute_counts[("ws", minute)] = count
            if count > self.config.ws_connects_per_minute:
                self.ws_refused += 1
                return "", _status_page(429, None)
        return subaccount, None

    async def trade_socket(self, request: web.Request) -> web.StreamResponse:
        if self.faults.trade_down:
            return _status_page(503, None)
        _, ws = await self._accept_socket(request)
        if not isinstance(ws, web.WebSocketResponse):
            return ws
        self.trade_connections += 1
        await ws.send_str('{"type":"AUTHENTICATED"}')
        await self.trade_feed.serve(ws)
        return ws

    async def account_socket(self, request: web.Request) -> web.StreamResponse:
        subaccount, ws = await self._accept_socket(request)
        if not isinstance(ws, web.WebSocketResponse):
            return ws
        self.ws_connections += 1
        conn = self.hub.new_connection(subaccount, ws)
        writer = asyncio.create_task(self.hub.writer(conn))
        log.info("%s account socket #%d connected", _who(subaccount), conn.number)
        while self.faults.hold_authentication and not ws.closed:  # a slow handshake (fault)
            await asyncio.sleep(0.05)
        self.hub.send_control(conn, {"type": "AUTHENTICATED"})
        for frame in self.exchange.balances.frames(subaccount):
            self.hub.send_event(conn, frame)
        self.hub.send_event(conn, {"type": "OPEN_ORDERS_UPDATE",
                                   "data": self.exchange.open_orders_frame(subaccount)})
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self._on_client_frame(conn, msg.data)
        finally:
            self.hub.drop(conn)
            writer.cancel()
            log.info("%s account socket #%d closed", _who(subaccount), conn.number)
        return ws

    def _on_client_frame(self, conn, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        if frame.get("type") == "PING" and self.faults.pong:
            self.hub.send_control(conn, {"type": "PONG"})
        elif frame.get("type") == "SUBSCRIBE":
            # The account socket is auto-subscribed. Whether VALR answers a SUBSCRIBE there, and how,
            # is undocumented: silence by default, SUBSCRIBED or UNSUPPORTED when the fault says so.
            self.subscribe_requests.append(frame)
            if self.faults.subscribe_answer:
                self.hub.send_control(conn, {"type": self.faults.subscribe_answer,
                                             "data": frame.get("subscriptions")})

    def _emit(self, subaccount: str, frame: dict) -> None:
        data = frame.get("data")
        if frame["type"] == "ORDER_STATUS_UPDATE" and not self.faults.status_updates:
            return
        if frame["type"] == "ORDER_STATUS_UPDATE":
            log.info("%s order %s %s", _who(subaccount), data.get("customerOrderId") or data["orderId"],
                     data["orderStatusType"])
        elif frame["type"] == "NEW_ACCOUNT_TRADE":
            log.info("%s trade %s %s @ %s (order %s)", _who(subaccount), data["side"], data["quantity"],
                     data["price"], data.get("customerOrderId") or data["orderId"])
        self.hub.emit(subaccount, frame)

    # ---- admin (ground truth, counters, manual matching, faults) -----------------------------------

    def truth(self) -> dict:
        return self.exchange.truth()

    def counters(self) -> dict:
        return {"rest": dict(self.rest_counts), "rest_total": sum(self.rest_counts.values()),
                "ws_connections": self.ws_connections, "ws_refused": self.ws_refused,
                "ws_frames_sent": self.hub.frames_sent, "ws_events_sent": self.hub.events_sent,
                "ws_events_by_type": dict(self.hub.events_by_type),
                "ws_subscribe_requests": len(self.subscribe_requests),
                "ws_open": len(self.hub.connections), "trade_open": len(self.trade_feed.connections),
                "trade_connections": self.trade_connections,
                "trade_frames_sent": self.trade_feed.frames_sent, "trade_subscribes": self.trade_feed.subscribes,
                "trade_summaries_sent": dict(self.trade_feed.summaries_sent),
                "trade_subscriptions": sorted(sorted(c.pairs) for c in self.trade_feed.connections)}

    def reset_counters(self) -> dict:
        self.rest_counts.clear()
        self.ws_connections = self.ws_refused = self.hub.frames_sent = self.hub.events_sent = 0
        self.hub.events_by_type.clear()
        self.trade_connections = self.trade_feed.frames_sent = self.trade_feed.subscribes = 0
        self.trade_feed.summaries_sent.clear()
        return self.counters()

    def frames(self) -> list[dict]:
        return list(self.hub.frame_log)

    def trade_frames(self) -> list[dict]:
        return list(self.trade_feed.frame_log)

    def requests(self) -> list[dict]:
        return list(self.request_log)

    def find_order(self, order_id: str | None = None, customer_order_id: str | None = None,
                   subaccount_id: str | None = None) -> Order:
        order = self.exchange.find(subaccount_id, order_id=order_id, customer_order_id=customer_order_id)
        if order is None:
            raise SimError(404, -1, f"no such order: {order_id or customer_order_id}")
        return order

    def fill(self, order_id: str | None = None, customer_order_id: str | None = None, *,
             quantity: Decimal | str | None = None, price: Decimal | str | None = None,
             subaccount_id: str | None = None) -> dict:
        order = self.find_order(order_id, customer_order_id, subaccount_id)
        return self.exchange.fill(order, None if quantity is None else Decimal(str(quantity)),
                                  None if price is None else Decimal(str(price)))

    def cancel(self, order_id: str | None = None, customer_order_id: str | None = None, *,
               subaccount_id: str | None = None) -> bool:
        return self.exchange.cancel(self.find_order(order_id, customer_order_id, subaccount_id))

    def expire(self, order_id: str | None = None, customer_order_id: str | None = None, *,
               subaccount_id: str | None = None) -> None:
        self.exchange.expire(self.find_order(order_id, customer_order_id, subaccount_id))

    def fail(self, order_id: str | None = None, customer_order_id: str | None = None, *,
             reason: str = "Order failed", subaccount_id: str | None = None) -> None:
        self.exchange.fail(self.find_order(order_id, customer_order_id, subaccount_id), reason)

    async def set_faults(self, **changes: Any) -> dict:
        """Change the fault state (see Faults); close_sockets and malformed_frame act now, and orders
        of a subaccount that stops resting go to the matching model."""
        resting = set(self.faults.resting_subaccounts)
        actions = self.faults.update(changes)
        for sub in sorted(resting - set(self.faults.resting_subaccounts)):
            self.matcher.release(sub)
        for action in actions:
            if action == "close_sockets":
                await self.hub.close_all()
            elif action == "close_trade_sockets":
                await self.trade_feed.close_all()
            elif action == "malformed_frame":
                self.hub.malformed_to_all()
        if changes.get("trade_down"):
            await self.trade_feed.close_all("fault injection: trade socket down")
        self.verifier.revoked = self.faults.key_revoked
        log.info("faults now: %s", {k: v for k, v in self.faults.describe().items() if v not in (None, 0, 0.0, False)})
        return self.faults.describe()

    def set_market(self, pair: str, **changes: Any) -> dict:
        """Admin: `jump` (a fraction), `spike` (a fraction: a jump undone `spike_ms` later, default 0 —
        one frame, then the market as it was), or any of bid, ask, mid, last, spread, level_qty, depth,
        slippage_band, level_step. Moving bid/ask fills the resting orders the market now reaches."""
        values = {k: (None if v is None else Decimal(str(v))) for k, v in changes.items()}
        if "spike" in values:
            return self._spike(pair, values.pop("spike") or Decimal(0), float(values.pop("spike_ms", 0) or 0))
        if "jump" in values:
            quote = self.market.jump(pair, values.pop("jump") or Decimal(0))
        else:
            quote = self.market.set(pair, **values)
        return quote.summary()

    def _spike(self, pair: str, fraction: Decimal, ms: float) -> dict:
        before = self.market.quote(pair)
        bid, ask = before.bid, before.ask
        summary = self.market.jump(pair, fraction).summary()

        def revert() -> None:
            self.spike_reverts.append({"pair": pair, "at": time.time(), "bid": str(bid), "ask": str(ask)})
            self.market.set(pair, bid=bid, ask=ask)
        asyncio.get_running_loop().call_later(ms / 1000, revert)
        return summary

    def set_balance(self, subaccount_id: str, currency: str, total: Decimal | str) -> dict:
        self.exchange.balances.set_total(subaccount_id, currency.upper(), Decimal(str(total)))
        return self.exchange.balances.truth(subaccount_id)

    async def admin_market(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response([q.summary() for q in self.market.quotes.values()])
        try:
            body = await request.json()
            pair = str(body.pop("pair")).upper()
            if self.market.quote(pair) is None:
                raise ValueError(f"unknown pair {pair!r}")
            return web.json_response(self.set_market(pair, **body))
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            return _error(400, -11, f"bad market change: {exc}")

    async def admin_balances(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response(self.exchange.balances.truth(request.query.get("subaccountId", "")))
        try:
            body = await request.json()
            return web.json_response(self.set_balance(str(body.get("subaccountId") or ""), str(body["currency"]),
                                                      body["total"]))
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            return _error(400, -11, f"bad balance: {exc}")

    async def admin_ledger(self, request: web.Request) -> web.Response:
        return web.json_response(self.exchange.ledger.truth(account_id(request.query.get("subaccountId", ""))))

    async def admin_money(self, request: web.Request) -> web.Response:
        action = request.path.rsplit("/", 1)[1]
        try:
            body = await request.json()
            handler = {"deposit": self.deposit, "withdraw": self.withdraw, "transfer": self.transfer_funds}[action]
            return web.json_response(handler(**{_snake(k): v for k, v in body.items()}))
        except SimError as exc:
            return _error(exc.status, exc.code, exc.message)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            return _error(400, -11, f"bad {action}: {exc}")

    def deposit(self, subaccount_id: str = "", currency: str = "ZAR", amount: str = "0", kind: str = "fiat",
                confirmations: int = 3, confirm_every_ms: float = 0, count: int = 1, same_time: bool = False) -> dict:
        """Admin: `count` deposits of `amount` (fiat: credited now, `same_time` sharing one eventAt; crypto:
        `confirmations` NEW_PENDING_RECEIVE frames `confirm_every_ms` apart, then the credit)."""
        ledger, sub, code, value = self.exchange.ledger, account_id(subaccount_id), currency.upper(), _positive(amount)
        if kind == "crypto":
            return {"pending": [ledger.receive_crypto(sub, code, value, int(confirmations), confirm_every_ms / 1000)
                                for _ in range(int(count))]}
        if kind != "fiat":
            raise ValueError("kind must be fiat or crypto")
        stamp = now_iso() if same_time else None
        return {"transactions": [ledger.deposit_fiat(sub, code, value, stamp).id for _ in range(int(count))]}

    def withdraw(self, subaccount_id: str = "", currency: str = "BTC", amount: str = "0", fee: str = "0",
                 kind: str = "crypto") -> dict:
        """Admin: a withdrawal of `amount` (its debitValue), of which `fee` is the network's or bank's."""
        tx = self.exchange.ledger.withdraw(account_id(subaccount_id), currency.upper(), _positive(amount),
                                           Decimal(str(fee)), fiat=kind == "fiat")
        return {"transactions": [tx.id]}

    def transfer_funds(self, from_id: str, to_id: str, currency_code: str, amount: str) -> dict:
        out, into = self.exchange.ledger.transfer(account_id(from_id), account_id(to_id), currency_code.upper(),
                                                  _positive(amount))
        return {"transactions": [out.id, into.id]}

    async def admin_truth(self, request: web.Request) -> web.Response:
        return web.json_response(self.truth())

    async def admin_counters(self, request: web.Request) -> web.Response:
        return web.json_response(self.counters())

    async def admin_counters_reset(self, request: web.Request) -> web.Response:
        return web.json_response(self.reset_counters())

    async def admin_frames(self, request: web.Request) -> web.Response:
        return web.json_response(self.frames())

    async def admin_trade_frames(self, request: web.Request) -> web.Response:
        return web.json_response(self.trade_frames())

    async def admin_requests(self, request: web.Request) -> web.Response:
        return web.json_response(self.requests())

    async def admin_faults(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response(self.faults.describe())
        try:
            return web.json_response(await self.set_faults(**await request.json()))
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, -11, f"bad faults: {exc}")

    async def admin_order_action(self, request: web.Request) -> web.Response:
        action = request.path.rsplit("/", 1)[1]
        try:
            body = await request.json()
            ids = dict(order_id=body.get("orderId"), customer_order_id=body.get("customerOrderId"),
                       subaccount_id=body.get("subaccountId"))
            if action == "fill":
                result: Any = self.fill(**ids, quantity=body.get("quantity"), price=body.get("price"))
            elif action == "cancel":
                result = {"cancelled": self.cancel(**ids)}
            elif action == "expire":
                self.expire(**ids)
                result = {"expired": True}
            else:
                self.fail(**ids, reason=body.get("reason") or "Order failed")
                result = {"failed": True}
        except SimError as exc:
            return _error(exc.status, exc.code, exc.message)
        except (ValueError, TypeError, ArithmeticError) as exc:
            return _error(400, -11, f"bad request: {exc}")
        return web.json_response(result)


def _snake(name: str) -> str:
    """camelCase admin keys (subaccountId, fromId, currencyCode) as Python names."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _positive(amount: Any) -> Decimal:
    value = Decimal(str(amount))
    if not value.is_finite() or value <= 0:
        raise ValueError("amount must be positive")
    return value


def _json_body(text: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal) if text else None
    except ValueError:
        raise SimError(400, -11, "Malformed request body: not JSON") from None


def _json_body_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _iso(text: str) -> datetime:
    return parse_time(text)


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _status_page(status: int, retry_after: float | None) -> web.Response:
    """VALR's rate-limit and infrastructure errors come from its edge: an HTML body, no JSON."""
    headers = {}
    if status == 429:
        headers["x-valr-ratelimited"] = "true"
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    reason = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
              503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    return web.Response(status=status, headers=headers, content_type="text/html",
                        text=f"<html><body><h1>{status} {reason}</h1></body></html>")


def _who(subaccount: str) -> str:
    return f"[{subaccount}]" if subaccount else "[primary]"
