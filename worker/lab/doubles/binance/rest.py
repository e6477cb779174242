"""Binance's spot REST paths as ccxt's `binance` calls them: /api/v3 (markets, account, orders, trades),
/sapi/v1 (coins, deposits, withdrawals, margin pairs that load_markets asks for) and the empty futures
exchangeInfo that load_markets also reads (/fapi/v1, /dapi/v1: the double has spot markets only)."""

from __future__ import annotations

import asyncio
import functools
import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from worker.lab.doubles.binance import shapes
from worker.lab.doubles.binance.auth import BinanceError, check_key, check_signed
from worker.lab.doubles.core import CANCELED, EXPIRED, OPEN, DoubleError, Order, now_ms

CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
REFUSALS = {  # the core's refusal → Binance's answer to a new order (HTTP 400)
    "unknown_symbol": (-1121, "Invalid symbol."),
    "insufficient_funds": (-2010, "Account has insufficient balance for requested action."),
    "duplicate_client_id": (-2010, "Duplicate order sent."),
    "invalid_amount": (-1013, "Filter failure: LOT_SIZE"),
    "invalid_price": (-1013, "Filter failure: PRICE_FILTER"),
    "invalid_order": (-1116, "Invalid orderType."),
    "unknown_order": (-2013, "Order does not exist."),
}
WEIGHT_WITHOUT = {"/api/v3/openOrders": 80, "/api/v3/ticker/24hr": 80, "/api/v3/ticker/bookTicker": 4}  # no symbol
WEIGHT_BY_ORDER = 5  # myTrades with orderId
UNKNOWN_ORDER = (400, -2013, "Order does not exist.")
CANCEL_UNKNOWN = (400, -2011, "Unknown order sent.")
ARCHIVED = (400, -2026, "Order was canceled or expired with no executed qty over 90 days ago and has been archived.")


def endpoint(weight: int | None = 1, security: str = "SIGNED"):
    """A REST handler in Binance's manner: faults first, then weight, then the key (USER_STREAM) or the
    signature (SIGNED); refusals in Binance's error shape. The handler gets (request, params, account)."""
    def wrap(handler):
        @functools.wraps(handler)
        async def run(self, request: web.Request) -> web.StreamResponse:
            try:
                self.rest_fault()
                cost = WEIGHT_WITHOUT.get(request.path, weight) if "symbol" not in request.query else weight
                cost = WEIGHT_BY_ORDER if request.path == "/api/v3/myTrades" and "orderId" in request.query else cost
                used = self.limits.spend(cost) if cost else self.limits.used_weight()
                params = await self.request_params(request, security)
                account = self.account_of(request.headers.get("X-MBX-APIKEY", "")) if security != "NONE" else ""
                answer = await handler(self, request, params, account)
            except BinanceError as exc:
                return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
            except DoubleError as exc:
                code, msg = REFUSALS.get(exc.kind, (-1000, exc.message))
                return web.json_response({"code": code, "msg": msg}, status=400)
            return web.json_response(answer, headers={"X-MBX-USED-WEIGHT-1M": str(used)})
        return run
    return wrap


def decimal_param(params: dict, name: str, required: bool = True) -> Decimal | None:
    raw = params.get(name)
    if raw in (None, ""):
        if required:
            raise BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
                           "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.") from None


class BinanceRest:
    """The REST half of `BinanceDouble` (a mixin over `DoubleServer`)."""

    archive_after_ms = 90 * 86_400_000  # an order cancelled or expired with nothing executed, then archived

    def rest_routes(self, router: web.UrlDispatcher) -> None:
        get, post, delete = router.add_get, router.add_post, router.add_delete
        get("/api/v3/ping", self.ping)
        get("/api/v3/time", self.server_time)
        get("/api/v3/exchangeInfo", self.exchange_info)
        get("/fapi/v1/exchangeInfo", self.futures_info)
        get("/dapi/v1/exchangeInfo", self.futures_info)
        get("/api/v3/ticker/24hr", self.ticker_24hr)
        get("/api/v3/ticker/bookTicker", self.book_ticker)
        get("/sapi/v1/margin/allPairs", self.no_margin_pairs)
        get("/sapi/v1/margin/isolated/allPairs", self.no_margin_pairs)
        get("/sapi/v1/capital/config/getall", self.coins)
        get("/api/v3/account", self.account)
        post("/api/v3/order", self.new_order)
        get("/api/v3/order", self.query_order)
        delete("/api/v3/order", self.cancel_order)
        get("/api/v3/openOrders", self.open_orders)
        get("/api/v3/allOrders", self.all_orders)
        get("/api/v3/myTrades", self.my_trades)
        get("/sapi/v1/capital/deposit/hisrec", self.deposits)
        get("/sapi/v1/capital/withdraw/history", self.withdrawals)

    # -- the checks every endpoint shares ---------------------------------------------------------------
    def rest_fault(self) -> None:
        for word, status in (("ban", 418), ("rate_limit", 429)):
            if self.take_fault(word):
                until = now_ms() + 120_000
                msg = (f"Way too much request weight used; IP banned until {until}. Please use WebSocket Streams "
                       "for live updates to avoid bans." if status == 418 else
                       f"Too many requests; current limit of IP(127.0.0.1) is {self.limits.weight_per_minute} "
                       "requests per minute. Please use the websocket for live updates to avoid polling the API.")
                raise BinanceError(status, -1003, msg, {"Retry-After": "120" if status == 418 else "60"})

    async def request_params(self, request: web.Request, security: str) -> dict[str, str]:
        body = await request.text() if request.can_read_body else ""
        if security == "SIGNED":
            return check_signed(request.query_string, body, request.headers.get("X-MBX-APIKEY"), self.keys)
        if security == "USER_STREAM":
            check_key(request.headers.get("X-MBX-APIKEY"), self.keys)
        return dict(request.query)

    def symbol_of(self, params: dict) -> str:
        market_id = params.get("symbol")
        if not market_id:
            raise BinanceError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        for symbol in self.exchange.markets:
            if shapes.symbol_id(symbol) == market_id:
                return symbol
        raise BinanceError(400, -1121, "Invalid symbol.")

    def find_order(self, account: str, params: dict, refusal: tuple) -> Order:
        symbol = self.symbol_of(params)
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if not order_id and not client_id:
            raise BinanceError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                               "empty/null!")
        try:
            order = self.exchange.order(account, order_id, None if order_id else client_id)
        except DoubleError:
            raise BinanceError(*refusal) from None
        if order.symbol != symbol:
            raise BinanceError(*refusal)
        return order

    def archived(self, order: Order) -> bool:
        return (order.status in (CANCELED, EXPIRED) and not order.filled
                and now_ms() - order.updated_ms > self.archive_after_ms)

    # -- public ---------------------------------------------------------------------------------------------
    @endpoint(1, "NONE")
    async def ping(self, request, params, account) -> dict:
        return {}

    @endpoint(1, "NONE")
    async def server_time(self, request, params, account) -> dict:
        return {"serverTime": now_ms()}

    @endpoint(20, "NONE")
    async def exchange_info(self, request, params, account) -> dict:
        return shapes.exchange_info(list(self.exchange.markets.values()), self.limits.rate_limits())

    @endpoint(None, "NONE")
    async def futures_info(self, request, params, account) -> dict:
        return shapes.exchange_info([], [])

    @endpoint(2, "NONE")
    async def ticker_24hr(self, request, params, account):
        if "symbol" in params:
            return shapes.ticker_24hr(self.exchange.market(self.symbol_of(params)), event=False)
        return [shapes.ticker_24hr(m, event=False) for m in self.exchange.markets.values()]

    @endpoint(2, "NONE")
    async def book_ticker(self, request, params, account):
        views = [{"symbol": shapes.symbol_id(m.symbol), "bidPrice": shapes.d8(m.bid), "bidQty": shapes.d8(Decimal(1)),
                  "askPrice": shapes.d8(m.ask), "askQty": shapes.d8(Decimal(1))}
                 for m in self.exchange.markets.values()
                 if "symbol" not in params or shapes.symbol_id(m.symbol) == params["symbol"]]
        return views[0] if "symbol" in params and views else views

    # -- account ----------------------------------------------------------------------------------------------
    @endpoint(None)
    async def no_margin_pairs(self, request, params, account) -> list:
        return []

    @endpoint(None)
    async def coins(self, request, params, account) -> list:
        return [shapes.coin_info(c, b) for c, b in sorted(self.exchange.balances_of(account).items())]

    @endpoint(20)
    async def account(self, request, params, account) -> dict:
        ex = self.exchange
        balances = ex.balances_of(account)
        if params.get("omitZeroBalances") == "true":
            balances = {c: b for c, b in balances.items() if b.total}
        return shapes.account_view(balances, ex.maker_fee, ex.taker_fee)

    @endpoint(None)
    async def deposits(self, request, params, account) -> list:
        return [shapes.deposit_view(e) for e in self.entries(account, "deposit", params)]

    @endpoint(None)
    async def withdrawals(self, request, params, account) -> list:
        return [shapes.withdrawal_view(e) for e in self.entries(account, "withdrawal", params)]

    def entries(self, account: str, kind: str, params: dict) -> list:
        """Deposits or withdrawals, newest first, within startTime..endTime (default: the last 90 days)."""
        end = int(params.get("endTime", now_ms()))
        start = int(params.get("startTime", end - 90 * 86_400_000))
        found = [e for e in self.exchange.account_ledger(account) if e.kind == kind and start <= e.ms <= end
                 and params.get("coin", e.currency) == e.currency]
        return list(reversed(found))[:int(params.get("limit", 1000))]

    # -- orders -----------------------------------------------------------------------------------------------
    @endpoint(1)
    async def new_order(self, request, params, account) -> dict:
        symbol = self.symbol_of(params)
        side, type_ = params.get("side", "").lower(), params.get("type", "").lower()
        client_id = params.get("newClientOrderId") or shapes.generated_client_id()
        if not CLIENT_ID.match(client_id):
            raise BinanceError(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range "
                               "is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
        if side not in ("buy", "sell"):
            raise BinanceError(400, -1117, "Invalid side.")
        if type_ not in ("limit", "market"):
            raise BinanceError(400, -1116, "Invalid orderType.")
        amount, price = self.order_amount(symbol, type_, side, params)
        self.limits.new_order(account)
        order = self.exchange.place(account, symbol, side, type_, amount, price, client_id)
        if self.take_fault("lose_placement_answers"):
            self.drop_answer(request)
        return shapes.placed_view(order, list(order.trades), params.get("newOrderRespType", "FULL"))

    def order_amount(self, symbol: str, type_: str, side: str, params: dict) -> tuple[Decimal, Decimal | None]:
        """The order's base quantity and limit price, checked against the NOTIONAL filter (the core checks
        LOT_SIZE, PRICE_FILTER and funds)."""
        market = self.exchange.market(symbol)
        price = None
        if type_ == "limit":
            if not params.get("timeInForce"):
                raise BinanceError(400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, "
                                   "or malformed.")
            price = decimal_param(params, "price")
        quote_qty = decimal_param(params, "quoteOrderQty", required=False) if type_ == "market" else None
        if quote_qty is not None:
            touch = market.ask if side == "buy" else market.bid
            amount = (quote_qty / touch).quantize(market.step, rounding=ROUND_DOWN)
        else:
            amount = decimal_param(params, "quantity")
        at = price if price is not None else (market.ask if side == "buy" else market.bid)
        on_grid = not amount % market.step and not at % market.tick  # PRICE_FILTER and LOT_SIZE come first
        if on_grid and amount * at < market.min_cost:
            raise BinanceError(400, -1013, "Filter failure: NOTIONAL")
        return amount, price

    @staticmethod
    def drop_answer(request: web.Request) -> None:
        """The order stands but its answer is lost: the connection closes without a response."""
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError()

    @endpoint(4)
    async def query_order(self, request, params, account) -> dict:
        order = self.find_order(account, params, UNKNOWN_ORDER)
        if self.archived(order):
            raise BinanceError(*ARCHIVED)
        return shapes.order_view(order)

    @endpoint(1)
    async def cancel_order(self, request, params, account) -> dict:
        order = self.find_order(account, params, CANCEL_UNKNOWN)
        if order.status != OPEN:
            raise BinanceError(*CANCEL_UNKNOWN)
        cancel_id = params.get("newClientOrderId") or shapes.generated_client_id()
        self.cancel_ids[order.id] = cancel_id
        self.exchange.cancel(account, order.id)
        return shapes.cancelled_view(order, cancel_id)

    @endpoint(6)
    async def open_orders(self, request, params, account) -> list:
        symbol = self.symbol_of(params) if "symbol" in params else None
        return [shapes.order_view(o) for o in self.exchange.open_orders(account, symbol)]

    @endpoint(20)
    async def all_orders(self, request, params, account) -> list:
        symbol = self.symbol_of(params)
        found = [o for o in self.exchange.orders.values() if o.account == account and o.symbol == symbol
                 and not self.archived(o) and int(o.id) >= int(params.get("orderId", 0))]
        return [shapes.order_view(o) for o in found][:int(params.get("limit", 500))]

    @endpoint(20)
    async def my_trades(self, request, params, account) -> list:
        symbol = self.symbol_of(params)
        trades = self.exchange.account_trades(account, symbol, params.get("orderId"))
        start, end = int(params.get("startTime", 0)), int(params.get("endTime", 2**62))
        from_id = int(params.get("fromId", 0))
        found = [t for t in trades if start <= t.ms <= end and int(t.id) >= from_id]
        return [shapes.my_trade_view(t) for t in found][:min(int(params.get("limit", 500)), 1000)]

    # -- what the double provides (worker/lab/doubles/binance/__init__.py) --------------------------------
    cancel_ids: dict[str, str]
    limits: Any
    exchange: Any
    keys: dict[str, str]
