"""Kraken's REST API over the core: `GET /0/public/<Method>` and signed `POST /0/private/<Method>`, each
answered `{"error": [], "result": …}` with HTTP 200, a refusal as `{"error": ["E<Category>:<word>"],
"result": {}}` (docs.kraken.com: Errors). Only the methods ccxt's kraken calls for our adapter."""

from __future__ import annotations

import re
import time
from decimal import Decimal, InvalidOperation
from email.utils import formatdate
from typing import Any

from aiohttp import web

from worker.lab.doubles.core import OPEN, DoubleError, Order
from worker.lab.doubles.kraken import shapes
from worker.lab.doubles.kraken.auth import KrakenError, parse_body

PAGE = 50  # ClosedOrders, TradesHistory and Ledgers answer 50 at a time, newest first
# Kraken's cl_ord_id: a long UUID, a short UUID (32 hex) or free text of at most 18 characters
CL_ORD_ID = re.compile(r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                       r"|[0-9a-fA-F]{32}|[ -~]{1,18})$")
# what a core refusal is called on Kraken (ccxt: InsufficientFunds, InvalidOrder, BadSymbol, …)
REFUSALS = {"insufficient_funds": "EOrder:Insufficient funds", "unknown_symbol": "EQuery:Unknown asset pair",
            "invalid_amount": "EGeneral:Invalid arguments:volume", "invalid_price": "EGeneral:Invalid arguments:price",
            "invalid_order": "EGeneral:Invalid arguments:ordertype", "unknown_order": "EOrder:Unknown order",
            "not_open": "EOrder:Unknown order", "duplicate_client_id": "EOrder:Duplicate cl_ord_id"}
COSTS = {"Ledgers": 2, "TradesHistory": 2, "QueryLedgers": 2, "AddOrder": 0, "CancelOrder": 0}  # counter weights


def answer(result: Any) -> web.Response:
    return web.json_response({"error": [], "result": result})


def refusal(word: str) -> web.Response:
    return web.json_response({"error": [word], "result": {}})


def dec(text: Any, word: str) -> Decimal:
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError) as exc:
        raise KrakenError(word) from exc
    if not value.is_finite():
        raise KrakenError(word)
    return value


def truthy(text: Any) -> bool:
    return str(text).lower() in ("true", "1")


class KrakenRest:
    """Mixed into the Kraken double: the REST routes and their handlers."""

    def rest_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/0/public/{method}", self._public)
        router.add_post("/0/private/{method}", self._private)

    # -- dispatch ----------------------------------------------------------------------------------------
    async def _public(self, request: web.Request) -> web.Response:
        handler = getattr(self, f"public_{request.match_info['method']}", None)
        if handler is None:
            return refusal("EGeneral:Unknown method")
        try:
            return answer(handler(dict(request.query)))
        except KrakenError as exc:
            return refusal(exc.word)

    async def _private(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.text()
        try:
            params = parse_body(body, request.headers.get("Content-Type", ""))
            key = self.gate.check(request.path, request.headers, body, params, COSTS.get(method, 1),
                                  self.counter_ceiling)
            handler = getattr(self, f"private_{method}", None)
            if handler is None:
                raise KrakenError("EGeneral:Unknown method")
            self._rate_limit_fault(method)
            result = handler(self.account_of(key), params, key)
        except KrakenError as exc:
            return refusal(exc.word)
        except DoubleError as exc:
            return refusal(REFUSALS.get(exc.kind, "EGeneral:Invalid arguments"))
        if method == "AddOrder" and self._take_fault("lose_placement_answers"):
            request.transport.close()  # the order stands; its answer is lost with the connection
        return answer(result)

    def _take_fault(self, name: str) -> bool:
        left = int(self.faults.get(name) or 0)
        if left > 0:
            self.faults[name] = left - 1
        return left > 0

    def _rate_limit_fault(self, method: str) -> None:
        if self._take_fault("rate_limit"):
            trading = method in ("AddOrder", "CancelOrder", "AddOrderBatch", "EditOrder", "AmendOrder")
            raise KrakenError("EOrder:Rate limit exceeded" if trading else "EAPI:Rate limit exceeded")

    # -- public ------------------------------------------------------------------------------------------
    def public_Time(self, query: dict) -> dict:
        now = time.time()
        return {"unixtime": int(now), "rfc1123": formatdate(now, usegmt=True)}

    def public_SystemStatus(self, query: dict) -> dict:
        return {"status": "online", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def public_Assets(self, query: dict) -> dict:
        codes = {c for m in self.exchange.markets.values() for c in (m.base, m.quote)}
        return {shapes.asset_id(code): shapes.asset_info(code) for code in sorted(codes)}

    def public_AssetPairs(self, query: dict) -> dict:
        return {shapes.pair_names(m)[0]: shapes.asset_pair(m) for m in self.exchange.markets.values()}

    def public_Ticker(self, query: dict) -> dict:
        markets = [self.market_by_pair(p) for p in query.get("pair", "").split(",") if p] \
            or list(self.exchange.markets.values())
        return {shapes.pair_names(m)[0]: shapes.rest_ticker(m) for m in markets}

    def market_by_pair(self, pair: str):
        for market in self.exchange.markets.values():
            if pair in shapes.pair_names(market) or pair == market.symbol:
                return market
        raise KrakenError("EQuery:Unknown asset pair")

    # -- account -----------------------------------------------------------------------------------------
    def private_BalanceEx(self, account: str, params: dict, key: str) -> dict:
        return {shapes.asset_id(code): {"balance": shapes.fixed(b.total, shapes.asset_places(code)),
                                        "hold_trade": shapes.fixed(b.reserved, shapes.asset_places(code))}
                for code, b in sorted(self.exchange.balances_of(account).items())}

    def private_Balance(self, account: str, params: dict, key: str) -> dict:
        return {kid: row["balance"] for kid, row in self.private_BalanceEx(account, params, key).items()}

    def private_GetWebSocketsToken(self, account: str, params: dict, key: str) -> dict:
        return {"token": self.gate.new_token(key), "expires": 900}

    # -- orders ------------------------------------------------------------------------------------------
    def private_AddOrder(self, account: str, params: dict, key: str) -> dict:
        market = self.market_by_pair(params.get("pair", ""))
        side, type_ = params.get("type"), params.get("ordertype")
        if side not in ("buy", "sell"):
            raise KrakenError("EGeneral:Invalid arguments:type")
        if type_ not in ("limit", "market"):
            raise KrakenError("EGeneral:Invalid arguments:ordertype")
        volume = dec(params.get("volume"), "EGeneral:Invalid arguments:volume")
        if volume < market.min_amount:
            raise KrakenError("EOrder:Order minimum not met")
        price = dec(params.get("price"), "EGeneral:Invalid arguments:price") if type_ == "limit" else None
        self._check_rules(market, side, volume, price)
        client_id = params.get("cl_ord_id") or None
        if client_id is not None and ("userref" in params or not CL_ORD_ID.match(client_id)):
            raise KrakenError("EGeneral:Invalid arguments:cl_ord_id")
        if truthy(params.get("validate")):
            return {"descr": {"order": f"{side} {volume} {shapes.pair_names(market)[1]} @ {type_}"}}
        order = self.exchange.place(account, market.symbol, side, type_, volume, price, client_id)
        # Kraken's answer names the order (txid) and describes it; it does not echo cl_ord_id
        return {"descr": {"order": shapes.rest_order(order, market)["descr"]["order"]}, "txid": [order.id]}

    @staticmethod
    def _check_rules(market, side: str, volume: Decimal, price: Decimal | None) -> None:
        """AssetPairs' rules as Kraken enforces them: the price's decimals, then `costmin`."""
        if price is not None and (price <= 0 or price % market.tick):
            places = shapes.decimals(market.tick)
            raise KrakenError(f"EOrder:Invalid price:{shapes.pair_names(market)[1]} price can only be specified "
                              f"up to {places} decimals.")
        at = price if price is not None else (market.ask if side == "buy" else market.bid)
        if volume * at < market.min_cost:
            raise KrakenError("EOrder:Cost minimum not met")

    def private_CancelOrder(self, account: str, params: dict, key: str) -> dict:
        order = self._order_by(account, params.get("txid"), params.get("cl_ord_id"), "EOrder:Unknown order")
        if order.status != OPEN:
            raise KrakenError("EOrder:Unknown order")
        self.exchange.cancel(account, order.id, reason="User requested")
        return {"count": 1}

    def private_CancelAll(self, account: str, params: dict, key: str) -> dict:
        orders = self.exchange.open_orders(account)
        for order in orders:
            self.exchange.cancel(account, order.id, reason="User requested")
        return {"count": len(orders)}

    def _order_by(self, account: str, txid: str | None, cl_ord_id: str | None, word: str) -> Order:
        try:
            if txid and not cl_ord_id:
                return self.exchange.order(account, order_id=txid)
            return self.exchange.order(account, client_id=cl_ord_id)
        except DoubleError as exc:
            raise KrakenError(word) from exc

    def private_QueryOrders(self, account: str, params: dict, key: str) -> dict:
        """By txid (comma separated, up to 50); `userref` narrows them and must be an integer. Kraken's
        QueryOrders takes no cl_ord_id: a lookup by our id goes through OpenOrders / ClosedOrders."""
        userref = params.get("userref")
        if userref is not None and not re.fullmatch(r"-?\d+", str(userref)):
            raise KrakenError("EGeneral:Invalid arguments:userref")
        txids = [t for t in str(params.get("txid", "")).split(",") if t]
        if not txids or len(txids) > 50:
            raise KrakenError("EGeneral:Invalid arguments")
        orders = [self._order_by(account, txid, None, "EOrder:Invalid order") for txid in txids]
        return {o.id: self._rest_order(o, truthy(params.get("trades"))) for o in orders
                if userref is None or (o.client_id is None and int(userref) == 0)}

    def private_OpenOrders(self, account: str, params: dict, key: str) -> dict:
        orders = [o for o in self.exchange.open_orders(account) if self._matches(o, params)]
        return {"open": {o.id: self._rest_order(o, truthy(params.get("trades"))) for o in reversed(orders)}}

    def private_ClosedOrders(self, account: str, params: dict, key: str) -> dict:
        closed = [o for o in self.exchange.orders.values()
                  if o.account == account and o.status != OPEN and self._matches(o, params)]
        closed.sort(key=lambda o: o.updated_ms, reverse=True)
        page = self._page(closed, params)
        return {"closed": {o.id: self._rest_order(o, truthy(params.get("trades"))) for o in page},
                "count": len(closed)}

    @staticmethod
    def _matches(order: Order, params: dict) -> bool:
        cl_ord_id = params.get("cl_ord_id")
        return cl_ord_id is None or order.client_id == cl_ord_id

    @staticmethod
    def _page(rows: list, params: dict) -> list:
        offset = int(params.get("ofs") or 0)
        return rows[offset:offset + PAGE]

    def _rest_order(self, order: Order, with_trades: bool) -> dict:
        return shapes.rest_order(order, self.exchange.market(order.symbol), with_trades)

    # -- trades, ledger, deposits --------------------------------------------------------------------------
    def _rest_trade(self, trade) -> dict:
        order = self.exchange.orders[trade.order_id]
        return shapes.rest_trade(trade, order, self.exchange.market(trade.symbol), self.trade_no(trade))

    def private_TradesHistory(self, account: str, params: dict, key: str) -> dict:
        trades = sorted(self.exchange.account_trades(account), key=lambda t: t.ms, reverse=True)
        return {"trades": {t.id: self._rest_trade(t) for t in self._page(trades, params)}, "count": len(trades)}

    def private_QueryTrades(self, account: str, params: dict, key: str) -> dict:
        wanted = [t for t in str(params.get("txid", "")).split(",") if t]
        if not wanted or len(wanted) > 20:
            raise KrakenError("EGeneral:Invalid arguments")
        mine = {t.id: t for t in self.exchange.account_trades(account)}
        return {txid: self._rest_trade(mine[txid]) for txid in wanted if txid in mine}

    def private_Ledgers(self, account: str, params: dict, key: str) -> dict:
        assets = {a for a in str(params.get("asset", "all")).split(",") if a and a != "all"}
        entries = [e for e in self.exchange.account_ledger(account)
                   if not assets or shapes.asset_id(e.currency) in assets or e.currency in assets]
        entries.sort(key=lambda e: e.ms, reverse=True)
        return {"ledger": {e.id: shapes.rest_ledger(e, self.refid(e)) for e in self._page(entries, params)},
                "count": len(entries)}

    def private_DepositStatus(self, account: str, params: dict, key: str) -> list:
        asset = params.get("asset")
        return [shapes.rest_deposit(e, self.refid(e)) for e in self.exchange.account_ledger(account)
                if e.kind == "deposit" and (not asset or asset in (e.currency, shapes.asset_id(e.currency)))]
