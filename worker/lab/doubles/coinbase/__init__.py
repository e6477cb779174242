"""The Coinbase double: Coinbase Advanced Trade's REST (`/api/v3/brokerage/...`, and the `/v2/...` paths ccxt
still reads for currencies, balances, transactions and deposits) and its WebSocket (`user`, `ticker`,
`ticker_batch`, `heartbeats`) on one port, over the exchange-neutral core, closely enough that unmodified
`ccxt.pro.coinbase` pointed at it (worker.exchanges.urls.point_at) drives it.

Quirks that matter to a system that must never place twice and must know every fill:

| quirk | what the double does | source |
|---|---|---|
| ccxt drops `params={'clientOrderId': …}` and sends its own `ccxt-<uuid>` | the id sent is the id kept; pass ours as `params={'client_order_id': <uuid>}` | ccxt `async_support` coinbase, create_order |
| a repeated `client_order_id` creates nothing | answers success with the first order's `order_id` (any status) | Create Order reference, client_order_id ("if the ID provided is not unique, the order will not be created and the order with this ID will be returned instead"; recalled, not found in the stored copy of the page) |
| `client_order_id` length and alphabet | none documented; the double takes any non-empty string (ours: a UUID, 36 characters; ccxt's own: `ccxt-` + UUID) | Create Order reference |
| `client_order_id` echoed | in the create answer, Get Order, List Orders and every `user` channel event | ccxt recorded fetchClosedOrders; `user` channel reference |
| lookup by client order id | none: Get Order is by `order_id` (its `client_order_id` query is deprecated and ignored); find ours in List Orders | Get Order reference |
| how long an order stays queryable | every order, any age, by id and in List Orders | List Orders reference (no retention stated) |
| an unknown order | 404 `{"error":"unknown","message":"order with this orderID was not found"}`: ccxt raises ExchangeError, not OrderNotFound | ccxt `async_support` coinbase, handle_errors and its comment |
| cancel of an unknown or finished order | `success: false` with `UNKNOWN_CANCEL_ORDER` / `ORDER_IS_FULLY_FILLED` / `DUPLICATE_CANCEL_REQUEST`; ccxt raises BadRequest without the reason | Cancel Orders reference; ccxt cancel_orders |
| a cancelled order with fills | status `CANCELLED`, `filled_size` > 0 (ccxt: `canceled`); `EXPIRED` and `FAILED` are also ccxt's `canceled` | List Orders reference; ccxt parse_order_status |
| no trade stream | fills only as `user` order updates (cumulative_quantity, avg_price); each fill from List Fills `?order_ids=` (ccxt `fetch_my_trades(symbol, params={'order_ids': id})`) | ccxt `pro` coinbase: watchMyTrades False |
| ccxt's watch_orders `amount` | is `cumulative_quantity` (filled); the order's size is filled + `leaves_quantity` | ccxt pro parse_ws_order |
| fees | in the quote currency (`commission`, `total_fees`), maker 0.4 % / taker 0.6 % | ccxt parse_trade (fee currency = quote); Advanced 1 tier |
| refusals are HTTP 200 | `success: false` + `error_response` (INSUFFICIENT_FUND → InsufficientFunds; a size or price refusal → ExchangeError) | ccxt create_order |
| market buys by quote | `quote_size` (ccxt's default) spends at most that, fees included; `base_size` also accepted | Create Order reference |
| signing | legacy HMAC key (what ccxt uses for a plain secret), 30 s timestamp window; v3 refusals are a bare 401 `Unauthorized`, v2 the `errors` shape | Coinbase App API key authentication |
| rate limit | 429 `{"errors":[{"id":"rate_limit_exceeded",…}]}` → RateLimitExceeded | Coinbase App errors; ccxt exceptions |
| idle channels | Coinbase closes a channel after 60-90 s without updates unless `heartbeats` is subscribed; the double does with the fault word `idle_close_seconds` (off unless set: ccxt cannot subscribe `heartbeats` through its unified methods) | WebSocket channels reference |
| `ticker_batch` | sent every 5 s by Coinbase; the double sends each change at once (kinder) | WebSocket channels reference |
| cancelling | Coinbase queues a cancel: the answer's `success` is not the cancel; with `cancel_delay_ms` the order stays OPEN (`pending_cancel` true, fillable) that long, then its `user` update says CANCELLED (default 0: at once) | Cancel Orders reference; Get Order's pending_cancel |
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

from aiohttp import web

from worker.lab.doubles.coinbase import shapes
from worker.lab.doubles.coinbase.auth import check_ws
from worker.lab.doubles.coinbase.rest import CoinbaseRest
from worker.lab.doubles.coinbase.ws import CoinbaseSockets
from worker.lab.doubles.core import DoubleExchange, Market
from worker.lab.doubles.server import DoubleServer

FAULT_WORDS = ("rate_limit", "rate_limit_per_second", "rate_limit_body", "lose_placement_answers", "close_sockets",
               "silent", "idle_close_seconds", "cancel_delay_ms")


def default_markets() -> list[Market]:
    """BTC first (the demo buys Bitcoin everywhere), in Coinbase's own quotes: USD, USDC, USDT."""
    def btc(quote: str) -> Market:
        return Market(f"BTC/{quote}", "BTC", quote, bid=Decimal("60000"), ask=Decimal("60010"), last=Decimal("60005"),
                      tick=Decimal("0.01"), step=Decimal("0.00000001"), min_amount=Decimal("0.00000001"),
                      min_cost=Decimal("1"))
    eth = Market("ETH/USD", "ETH", "USD", bid=Decimal("3000"), ask=Decimal("3000.5"), last=Decimal("3000.25"),
                 tick=Decimal("0.01"), step=Decimal("0.00000001"), min_amount=Decimal("0.00000001"),
                 min_cost=Decimal("1"))
    return [btc("USD"), btc("USDC"), btc("USDT"), eth]


class CoinbaseDouble(CoinbaseRest, CoinbaseSockets, DoubleServer):
    name = "coinbase"

    def __init__(self, exchange: DoubleExchange, keys: dict[str, str]) -> None:
        self.configs: dict[str, dict] = {}   # order id → its order_configuration as sent
        self.pending_cancels: set[str] = set()  # cancels accepted, not yet done (fault cancel_delay_ms)
        self.pending_config: dict = {}
        self.created_ms = int(time.time() * 1000)
        super().__init__(exchange, keys)

    def routes(self, router: web.UrlDispatcher) -> None:
        self.rest_routes(router)
        self.ws_routes(router)

    def user_id(self, account: str) -> str:
        return shapes.stable_uuid("user", account)

    def check_subscribe(self, message: dict) -> str:
        return self.account_of(check_ws(self.keys, message))

    def on_change(self, kind: str, obj: Any) -> None:
        if kind == "order" and obj.id not in self.configs:
            self.configs[obj.id] = self.pending_config
        self.tell_sockets(kind, obj)

    async def _admin_faults(self, request: web.Request) -> web.Response:
        answer = await super()._admin_faults(request)
        if self.faults.pop("close_sockets", None):
            await self.close_sockets()
        return answer


def coinbase_double(keys: dict[str, str], markets: list[Market] | None = None, **faults: Any) -> CoinbaseDouble:
    """A Coinbase double (not started: `await d.start()` or `DoubleThread(d)`); `keys` maps api key → secret."""
    exchange = DoubleExchange(markets or default_markets(), new_id=lambda kind: str(uuid.uuid4()),
                              taker_fee=Decimal("0.006"), maker_fee=Decimal("0.004"), fee_in="quote")
    double = CoinbaseDouble(exchange, keys)
    double.faults.update(faults)
    return double
