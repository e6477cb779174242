"""Coinbase's REST paths that ccxt's `coinbase` calls (its `async_support` module, 4.5.x), over the core.

Public: /v2/time, /v2/currencies, /v2/currencies/crypto, /v2/exchange-rates, /api/v3/brokerage/time,
/api/v3/brokerage/market/products (load_markets; `product_type=FUTURE` answers no products).
Private (signed): /api/v3/brokerage/transaction_summary, accounts, orders, orders/batch_cancel,
orders/historical/{order_id}, orders/historical/batch, orders/historical/fills; /v2/accounts,
/v2/accounts/{account_id}/transactions, /v2/accounts/{account_id}/deposits.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal, InvalidOperation, ROUND_DOWN
from typing import Any

from aiohttp import web

from worker.lab.doubles.coinbase import shapes
from worker.lab.doubles.coinbase.auth import Refusal, check_rest
from worker.lab.doubles.core import OPEN, DoubleError, Order
from worker.lab.doubles.server import plain

V3 = "/api/v3/brokerage"
RATE_LIMITED = {"errors": [{"id": "rate_limit_exceeded", "message": "Too many requests"}]}
RATE_LIMITED_PAGE = "<html><head><title>Coinbase</title><meta name=\"robots\" content=\"noindex\"></head><body></body></html>"
# A lookup of an order Coinbase does not know (ccxt quotes this body in its coinbase module).
NOT_FOUND = {"error": "unknown", "error_details": "order with this orderID was not found",
             "message": "order with this orderID was not found"}
FAILURES = {  # the core's refusal → Create Order's error_response (error, preview_failure_reason, message)
    "insufficient_funds": ("INSUFFICIENT_FUND", "PREVIEW_INSUFFICIENT_FUND", "Insufficient balance in source account"),
    "invalid_amount": ("INVALID_SIZE_PRECISION", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL", "Invalid order size"),
    "invalid_price": ("INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION", "Invalid limit price"),
    "unknown_symbol": ("INVALID_PRODUCT_ID", "PREVIEW_INVALID_PRODUCT_ID", "Invalid product_id"),
    "invalid_order": ("UNSUPPORTED_ORDER_CONFIGURATION", "PREVIEW_INVALID_ORDER_CONFIG", "Unsupported order configuration"),
}


class CoinbaseRest:
    """Mixin of `CoinbaseDouble`: the REST handlers. Needs `exchange`, `keys`, `faults`, `configs`,
    `user_id(account)`, `account_of(key)`, `created_ms`."""

    def rest_routes(self, router: web.UrlDispatcher) -> None:
        public = {
            "/v2/time": self._time_v2, "/v2/currencies": self._currencies,
            "/v2/currencies/crypto": self._currencies_crypto, "/v2/exchange-rates": self._exchange_rates,
            f"{V3}/time": self._time_v3, f"{V3}/market/products": self._products,
        }
        for path, handler in public.items():
            router.add_get(path, self._public(handler))
        private_get = {
            f"{V3}/transaction_summary": self._transaction_summary, f"{V3}/accounts": self._accounts_v3,
            f"{V3}/orders/historical/batch": self._orders_batch, f"{V3}/orders/historical/fills": self._fills,
            f"{V3}/orders/historical/{{order_id}}": self._order, "/v2/accounts": self._accounts_v2,
            "/v2/accounts/{account_id}/transactions": self._transactions,
            "/v2/accounts/{account_id}/deposits": self._deposits,
        }
        for path, handler in private_get.items():
            router.add_get(path, self._private(handler))
        router.add_post(f"{V3}/orders", self._private(self._create_order))
        router.add_post(f"{V3}/orders/batch_cancel", self._private(self._batch_cancel))

    # -- the gate: faults, then the signature ---------------------------------------------------------------
    def _rate_limited(self) -> web.Response | None:
        """429 for the next `rate_limit` requests, or past `rate_limit_per_second` (Coinbase: 30/s private,
        10/s public; the double counts every request, off unless set). `rate_limit_body: "html"` answers
        with a page instead of JSON, as Coinbase's gateway has been seen to (coinbase-samples/
        advanced-trade-sdk-go issue 18): ccxt then raises from the status alone."""
        now = time.monotonic()
        per_second = self.faults.get("rate_limit_per_second")
        self.recent = [t for t in getattr(self, "recent", []) if now - t < 1.0]
        limited = int(self.faults.get("rate_limit", 0)) > 0 or (per_second and len(self.recent) >= int(per_second))
        self.recent.append(now)
        if not limited:
            return None
        if int(self.faults.get("rate_limit", 0)) > 0:
            self.faults["rate_limit"] = int(self.faults["rate_limit"]) - 1
        if self.faults.get("rate_limit_body") == "html":
            return web.Response(status=429, text=RATE_LIMITED_PAGE, content_type="text/html")
        return web.json_response(RATE_LIMITED, status=429)

    def _public(self, handler: Any) -> Any:
        async def gate(request: web.Request) -> web.StreamResponse:
            return self._rate_limited() or await handler(request)
        return gate

    def _private(self, handler: Any) -> Any:
        async def gate(request: web.Request) -> web.StreamResponse:
            limited = self._rate_limited()
            if limited is not None:
                return limited
            body = await request.text()
            try:
                key = check_rest(self.keys, request.headers, request.method, request.path, request.query_string, body)
            except Refusal as refusal:
                return _unauthorized(request.path, refusal.reason)
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                return web.json_response({"error": "INVALID_ARGUMENT", "error_details": "malformed JSON body",
                                          "message": "malformed JSON body"}, status=400)
            return await handler(request, self.account_of(key), payload)
        return gate

    # -- public ------------------------------------------------------------------------------------------------
    async def _time_v2(self, request: web.Request) -> web.Response:
        now = time.time()
        return web.json_response({"data": {"epoch": int(now), "iso": shapes.iso(int(now * 1000))[:19] + "Z"}})

    async def _time_v3(self, request: web.Request) -> web.Response:
        now = time.time()
        return web.json_response({"iso": shapes.iso(int(now * 1000)), "epochSeconds": str(int(now)),
                                  "epochMillis": str(int(now * 1000))})

    def _currency_codes(self) -> list[str]:
        return sorted({c for m in self.exchange.markets.values() for c in (m.base, m.quote)})

    async def _currencies(self, request: web.Request) -> web.Response:
        fiat = [c for c in self._currency_codes() if c in shapes.FIAT]
        return web.json_response({"data": [{"id": c, "name": shapes.NAMES.get(c, c), "min_size": "0.01"} for c in fiat]})

    async def _currencies_crypto(self, request: web.Request) -> web.Response:
        crypto = [c for c in self._currency_codes() if c not in shapes.FIAT]
        return web.json_response({"data": [
            {"asset_id": shapes.stable_uuid("asset", c), "code": c, "name": shapes.NAMES.get(c, c), "color": "#000000",
             "sort_index": str(i), "exponent": "8", "type": "crypto", "address_regex": ".*"}
            for i, c in enumerate(crypto)]})

    async def _exchange_rates(self, request: web.Request) -> web.Response:
        currency = request.query.get("currency", "USD")
        return web.json_response({"data": {"currency": currency, "rates": {c: "1" for c in self._currency_codes()}}})

    async def _products(self, request: web.Request) -> web.Response:
        if request.query.get("product_type", "SPOT") != "SPOT":
            return web.json_response({"products": [], "num_products": 0})
        products = [shapes.product(m) for m in self.exchange.markets.values()]
        return web.json_response({"products": products, "num_products": len(products)})

    # -- private reads -----------------------------------------------------------------------------------------
    async def _transaction_summary(self, request: web.Request, account: str, body: dict) -> web.Response:
        tier = {"pricing_tier": "Advanced 1", "usd_from": "0", "usd_to": "1000",
                "taker_fee_rate": plain(self.exchange.taker_fee), "maker_fee_rate": plain(self.exchange.maker_fee),
                "aop_from": "", "aop_to": ""}
        return web.json_response({"total_volume": 0, "total_fees": 0, "fee_tier": tier, "margin_rate": None,
                                  "goods_and_services_tax": None, "advanced_trade_only_volume": 0,
                                  "advanced_trade_only_fees": 0, "coinbase_pro_volume": 0, "coinbase_pro_fees": 0,
                                  "total_balance": "", "has_promo_fee": False})

    async def _accounts_v3(self, request: web.Request, account: str, body: dict) -> web.Response:
        rows = [shapes.account_v3(account, c, b.free, b.reserved, self.created_ms)
                for c, b in sorted(self.exchange.balances_of(account).items())]
        return web.json_response({"accounts": rows, "has_next": False, "cursor": "", "size": len(rows)})

    async def _accounts_v2(self, request: web.Request, account: str, body: dict) -> web.Response:
        rows = [shapes.account_v2(account, c, b.total, self.created_ms)
                for c, b in sorted(self.exchange.balances_of(account).items())]
        return web.json_response({"pagination": _pagination(len(rows)), "data": rows})

    def _order_json(self, order: Order) -> dict:
        return shapes.order_rest(order, self.exchange.market(order.symbol), self.configs[order.id],
                                 self.user_id(order.account), order.id in self.pending_cancels)

    async def _order(self, request: web.Request, account: str, body: dict) -> web.Response:
        """Get Order: by order_id only. `client_order_id` is a deprecated query parameter that Coinbase
        documents without saying what it does; the double ignores it (fail safe: a lookup by our id is
        never answered by the path's id being wrong)."""
        order = self.exchange.orders.get(request.match_info["order_id"])
        if order is None or order.account != account:
            return web.json_response(NOT_FOUND, status=404)
        return web.json_response({"order": self._order_json(order)})

    async def _orders_batch(self, request: web.Request, account: str, body: dict) -> web.Response:
        query = request.query
        statuses = set(query.getall("order_status", []))
        products = set(query.getall("product_ids", [])) | set(query.getall("product_id", []))
        ids = set(query.getall("order_ids", []))
        limit = int(query.get("limit", "1000"))
        orders = [o for o in reversed(list(self.exchange.orders.values())) if o.account == account
                  and (not statuses or shapes.STATUS[o.status] in statuses) and (not ids or o.id in ids)
                  and (not products or shapes.product_id(self.exchange.market(o.symbol)) in products)]
        return web.json_response({"orders": [self._order_json(o) for o in orders[:limit]], "sequence": "0",
                                  "has_next": len(orders) > limit, "cursor": ""})

    async def _fills(self, request: web.Request, account: str, body: dict) -> web.Response:
        query = request.query
        order_ids = set(query.getall("order_ids", [])) | set(query.getall("order_id", []))
        products = set(query.getall("product_ids", [])) | set(query.getall("product_id", []))
        limit = int(query.get("limit", "1000"))
        trades = [t for t in reversed(self.exchange.account_trades(account))
                  if (not order_ids or t.order_id in order_ids)
                  and (not products or t.symbol.replace("/", "-") in products)]
        fills = [shapes.fill(t, self.exchange.market(t.symbol), self.user_id(account)) for t in trades[:limit]]
        return web.json_response({"fills": fills, "cursor": ""})

    def _ledger_of(self, account: str, account_uuid: str):
        by_uuid = {shapes.stable_uuid(account, c): c for c in self.exchange.balances_of(account)}
        currency = by_uuid.get(account_uuid)
        if currency is None:
            return None
        return [e for e in reversed(self.exchange.account_ledger(account)) if e.currency == currency]

    async def _transactions(self, request: web.Request, account: str, body: dict) -> web.Response:
        account_uuid = request.match_info["account_id"]
        entries = self._ledger_of(account, account_uuid)
        if entries is None:
            return web.json_response({"errors": [{"id": "not_found", "message": "Not found"}]}, status=404)
        trades = {t.id: t for t in self.exchange.account_trades(account)}
        rows = [shapes.transaction(e, account_uuid, trades.get(e.reference or "")) for e in entries]
        return web.json_response({"pagination": _pagination(len(rows)), "data": rows})

    async def _deposits(self, request: web.Request, account: str, body: dict) -> web.Response:
        account_uuid = request.match_info["account_id"]
        entries = self._ledger_of(account, account_uuid)
        if entries is None:
            return web.json_response({"errors": [{"id": "not_found", "message": "Not found"}]}, status=404)
        rows = [shapes.deposit(e, account_uuid) for e in entries if e.kind == "deposit" and e.currency in shapes.FIAT]
        return web.json_response({"pagination": _pagination(len(rows)), "data": rows})

    # -- orders ------------------------------------------------------------------------------------------------
    async def _create_order(self, request: web.Request, account: str, body: dict) -> web.StreamResponse:
        config = body.get("order_configuration") or {}
        client_id = str(body.get("client_order_id") or "")
        if not client_id:
            return web.json_response({"error": "INVALID_ARGUMENT", "error_details": "client_order_id is required",
                                      "message": "client_order_id is required"}, status=400)
        existing = self._by_client_id(account, client_id)
        if existing is not None:  # Coinbase: a repeated client_order_id creates nothing, answers that order
            return web.json_response(_created(existing, self.exchange.market(existing.symbol)))
        try:
            order = self._place(account, body, config, client_id)
        except DoubleError as refusal:
            return web.json_response(_refused(refusal, body, config))
        if int(self.faults.get("lose_placement_answers", 0)) > 0:
            self.faults["lose_placement_answers"] = int(self.faults["lose_placement_answers"]) - 1
            _drop_answer(request)
        return web.json_response(_created(order, self.exchange.market(order.symbol)))

    def _by_client_id(self, account: str, client_id: str) -> Order | None:
        return next((o for o in self.exchange.orders.values() if o.account == account and o.client_id == client_id), None)

    def _place(self, account: str, body: dict, config: dict, client_id: str) -> Order:
        symbol = str(body.get("product_id", "")).replace("-", "/")
        side = str(body.get("side", "")).lower()
        market = self.exchange.market(symbol)
        if list(config) == ["limit_limit_gtc"]:
            params = config["limit_limit_gtc"]
            type_, amount, price = "limit", _decimal(params.get("base_size")), _decimal(params.get("limit_price"))
        elif list(config) == ["market_market_ioc"]:
            params = config["market_market_ioc"]
            type_, price = "market", None
            amount = _decimal(params.get("base_size")) if "base_size" in params else self._base_for_quote(
                market, _decimal(params.get("quote_size")))
        else:
            raise DoubleError("invalid_order", f"unsupported order_configuration {sorted(config)}")
        if amount is None or (type_ == "limit" and price is None):
            raise DoubleError("invalid_amount", "size and price must be decimals")
        # registered before the core places it: the core tells its listeners (the user channel) at once
        self.pending_config = config
        order = self.exchange.place(account, symbol, side, type_, amount, price, client_id)
        return order

    def _base_for_quote(self, market: Any, quote: Decimal | None) -> Decimal | None:
        """A market buy by quote_size spends at most quote_size, fees included (size_inclusive_of_fees)."""
        if quote is None or quote <= 0:
            return None
        base = quote / (market.ask * (1 + self.exchange.taker_fee))
        return base.quantize(market.step, rounding=ROUND_DOWN)

    async def _batch_cancel(self, request: web.Request, account: str, body: dict) -> web.Response:
        results = [self._cancel_one(account, str(order_id)) for order_id in body.get("order_ids") or []]
        return web.json_response({"results": results})

    def _cancel_one(self, account: str, order_id: str) -> dict:
        """Coinbase queues a cancel: `success` says it was accepted, not done. With `cancel_delay_ms` the
        order stays OPEN (`pending_cancel`: true, still fillable) that long; its `user` update says when."""
        order = self.exchange.orders.get(order_id)
        if order is None or order.account != account:
            reason = "UNKNOWN_CANCEL_ORDER"
        elif order.status != OPEN:
            reason = "ORDER_IS_FULLY_FILLED" if order.remaining == 0 else "DUPLICATE_CANCEL_REQUEST"
        elif order.id in self.pending_cancels:
            reason = "DUPLICATE_CANCEL_REQUEST"
        else:
            delay = float(self.faults.get("cancel_delay_ms") or 0) / 1000
            self.pending_cancels.add(order.id)
            if delay:
                asyncio.get_running_loop().call_later(delay, self._finish_cancel, order)
            else:
                self._finish_cancel(order)
            return {"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": order_id}
        return {"success": False, "failure_reason": reason, "order_id": order_id}

    def _finish_cancel(self, order: Order) -> None:
        if order.id in self.pending_cancels:
            self.pending_cancels.discard(order.id)
            if order.status == OPEN:
                self.exchange.cancel(order.account, order.id)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _created(order: Order, market: Any) -> dict:
    return {"success": True, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": order.id,
            "success_response": {"order_id": order.id, "product_id": shapes.product_id(market),
                                 "side": order.side.upper(), "client_order_id": order.client_id},
            "order_configuration": None}


def _refused(refusal: DoubleError, body: dict, config: dict) -> dict:
    error, preview, message = FAILURES.get(refusal.kind, ("UNKNOWN_FAILURE_REASON", "UNKNOWN_PREVIEW_FAILURE_REASON",
                                                          refusal.message))
    return {"success": False, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "",
            "error_response": {"error": error, "message": message, "error_details": refusal.message,
                               "preview_failure_reason": preview, "new_order_failure_reason": error},
            "order_configuration": config}


def _unauthorized(path: str, reason: str) -> web.Response:
    if path.startswith("/api/v3/"):  # Advanced Trade answers a bad key or signature with a bare 401
        return web.Response(status=401, text="Unauthorized\n")
    return web.json_response({"errors": [{"id": "authentication_error", "message": reason}]}, status=401)


def _pagination(count: int) -> dict:
    return {"ending_before": None, "starting_after": None, "previous_ending_before": None,
            "next_starting_after": None, "limit": max(count, 25), "order": "desc", "previous_uri": None,
            "next_uri": None}


def _drop_answer(request: web.Request) -> None:
    """The order stands; its answer is lost with the connection (as the VALR simulator's fault)."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError()
