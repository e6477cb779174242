"""The Binance double: Binance's spot REST API and sockets over the exchange-neutral core, closely enough
that unmodified ccxt (`ccxt.pro.binance`, its `urls` pointed here by `worker.exchanges.urls.point_at`)
drives it. `binance_double(keys)` makes one; serve it with `DoubleThread` or `await double.start()`.

Binance's quirks that matter to a system that must never place twice and must know every fill:

| quirk | what the double does | source |
|---|---|---|
| our client order id is `newClientOrderId`, `^[.A-Z:/a-z0-9_-]{1,36}$`, unique among *open* orders only | refuses another alphabet or length with -1100; a second open order with the id: -2010 "Duplicate order sent."; the id may be reused once the first order ended | spot REST "New order (TRADE)", errors -1100/-2010 |
| the id is echoed on the order (`clientOrderId`) in POST/GET answers and `c` of executionReport | same | spot REST "New order", "Query order"; User Data Stream "Order update" |
| a cancel's answer carries the *cancel request's* id in `clientOrderId` (ours in `origClientOrderId`); its executionReport has the cancel's id in `c`, ours in `C` | same (a random 22-character id unless the cancel sent `newClientOrderId`); ccxt's cancel_order therefore returns the cancel's id as `clientOrderId` while its watch_orders reads `C` | spot REST "Cancel order"; User Data Stream "Order update" (`C`: original client order id) |
| lookup by client order id: GET /api/v3/order takes `origClientOrderId` for any order, open or not | same (the newest order with that id) | spot REST "Query order (USER_DATA)" |
| how long an order stays queryable: cancelled/expired with nothing executed is archived after 90 days, then -2026 | same (`archive_after_ms`, 90 days; a test may shorten it) | spot REST "Query order" notes; error -2026 |
| a cancelled order with fills is `CANCELED` (no separate word); `executedQty` > 0 tells it | same: ccxt says `canceled` with `filled` > 0 | ENUM "Order status" |
| each trade is its own executionReport (`x` TRADE, `t` trade id, `l`/`L` its quantity and price, `n`/`N` its fee), then outboundAccountPosition | same, in that order | User Data Stream "Order update", "Account update" |
| a market order's answer (newOrderRespType FULL, what ccxt asks) carries its `fills` | same | spot REST "New order" response FULL |
| signing: HMAC-SHA256 hex of query string + body, `X-MBX-APIKEY`, `timestamp` within `recvWindow` (≤ 60000), ≤ 1000 ms ahead | checked; -1022 bad signature, -2015 unknown key, -2014 malformed key, -1021 timing | "SIGNED endpoint security", "Timing security" |
| rate limits: request weight per minute and orders per 10 s → HTTP 429 (-1003 / -1015) with `Retry-After`; repeated → 418 ban | counted with Binance's weights (6000/min, 100 orders/10 s by default); faults `rate_limit`, `ban` force them | "LIMITS", error codes -1003/-1015 |
| funds reserved by resting orders (`locked`) | the core reserves them; a market order beyond `free` gets -2010 "Account has insufficient balance for requested action." | spot REST "Account information" (`free`/`locked`), error -2010 |
| order ids and trade ids are unique per symbol only: Binance reuses them across symbols (`orderId`, `tradeId` need `symbol` everywhere) | trade ids: one sequence per symbol, so BTC/USDT and ETH/USDT trades share ids (a store keyed by (exchange, trade id) loses one: add the symbol); order ids: NOT reproduced (the core keys orders by id: one sequence, never colliding, kinder than Binance) | every order and trade endpoint requires `symbol`; ccxt issue #26092 (two symbols with one order id) |
| filters: LOT_SIZE, PRICE_FILTER, NOTIONAL | -1013 "Filter failure: <name>" | "Filters" |

Admin fault words (POST /_double/faults): `rate_limit` (the next n REST requests answer 429 -1003),
`ban` (the next n answer 418), `lose_placement_answers` (the next n orders are accepted but their answer is
lost: the connection closes), `close_sockets` (every socket closes now), `silent` (sockets stay open and
send nothing while set).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from aiohttp import web

from worker.lab.doubles.binance.auth import Limits
from worker.lab.doubles.binance.rest import BinanceRest
from worker.lab.doubles.binance.ws import BinanceSockets
from worker.lab.doubles.core import DoubleExchange, Market, Order, Trade
from worker.lab.doubles.server import DoubleServer

__all__ = ["BinanceDouble", "BinanceExchange", "binance_double", "default_markets"]


def default_markets() -> list[Market]:
    """BTC/USDT and ETH/USDT with Binance's filters (tick 0.01, LOT_SIZE step 0.00001 / 0.0001, NOTIONAL 5)."""
    return [
        Market("BTC/USDT", "BTC", "USDT", bid=Decimal("60000"), ask=Decimal("60010"), last=Decimal("60005"),
               tick=Decimal("0.01"), step=Decimal("0.00001"), min_amount=Decimal("0.00001"), min_cost=Decimal("5")),
        Market("ETH/USDT", "ETH", "USDT", bid=Decimal("3000"), ask=Decimal("3000.5"), last=Decimal("3000.25"),
               tick=Decimal("0.01"), step=Decimal("0.0001"), min_amount=Decimal("0.0001"), min_cost=Decimal("5")),
        Market("BTC/USDC", "BTC", "USDC", bid=Decimal("60000"), ask=Decimal("60010"), last=Decimal("60005"),
               tick=Decimal("0.01"), step=Decimal("0.00001"), min_amount=Decimal("0.00001"), min_cost=Decimal("5")),
    ]


class BinanceExchange(DoubleExchange):
    """The core with Binance's ids: integers for orders (around ten digits) and trades, 18-digit strings
    for deposits; trade ids counted per symbol, as Binance counts them."""

    FIRST_TRADE_ID = 3_143_287_051

    def __init__(self, markets: list[Market], **fees: Any) -> None:
        super().__init__(markets, **fees)
        self._orders = itertools.count(9_780_331_417)
        self._ledger = itertools.count(769_800_519_366_885_376)
        self._trades: dict[str, itertools.count] = {}
        self._trading: str | None = None   # the symbol of the fill being made
        self.new_id = self._binance_id

    def _binance_id(self, kind: str) -> str:
        if kind == "trade":
            return str(next(self._trades.setdefault(self._trading or "", itertools.count(self.FIRST_TRADE_ID))))
        return str(next(self._orders if kind == "order" else self._ledger))

    def fill(self, order: Order, *args: Any, **kwargs: Any) -> Trade:
        self._trading = order.symbol
        return super().fill(order, *args, **kwargs)


class BinanceDouble(BinanceRest, BinanceSockets, DoubleServer):
    name = "binance"

    def __init__(self, exchange: DoubleExchange, keys: dict[str, str], weight_per_minute: int = 6000,
                 orders_per_10s: int = 100, **faults: Any) -> None:
        self.limits = Limits(weight_per_minute, orders_per_10s)
        self.conns: set = set()
        self.pending_trades: dict = {}
        self.cancel_ids: dict[str, str] = {}
        self.book_updates = 0
        super().__init__(exchange, keys)
        self.faults.update(faults)

    def routes(self, router: web.UrlDispatcher) -> None:
        self.rest_routes(router)
        self.socket_routes(router)

    def take_fault(self, word: str) -> bool:
        """Spend one of a counted fault (`rate_limit`, `ban`, `lose_placement_answers`)."""
        left = int(self.faults.get(word) or 0)
        if left <= 0:
            return False
        self.faults[word] = left - 1
        return True

    async def _admin_faults(self, request: web.Request) -> web.Response:
        answer = await super()._admin_faults(request)
        if self.faults.pop("close_sockets", None):
            for ws in list(self.sockets):
                await ws.close(code=1001, message=b"closed by the double")
        return answer


def binance_double(keys: dict[str, str], markets: list[Market] | None = None, **faults: Any) -> BinanceDouble:
    """A Binance double over a fresh core: `keys` maps api key → secret (one account per key)."""
    limits = {k: faults.pop(k) for k in ("weight_per_minute", "orders_per_10s") if k in faults}
    exchange = BinanceExchange(markets or default_markets(), taker_fee=Decimal("0.001"), maker_fee=Decimal("0.001"))
    return BinanceDouble(exchange, keys, **limits, **faults)


