"""The Kraken double: Kraken's spot REST API (`/0/public/*`, signed `/0/private/*`) and WebSocket v2
(`/v2`: ticker, executions, balances) over the exchange-neutral core, closely enough that unmodified
`ccxt.pro.kraken`, pointed here with `worker.exchanges.urls.point_at`, drives it. ccxt 4.5 watches orders,
trades, tickers and balances over v2 only; its private channels carry a GetWebSocketsToken token.

Kraken's quirks that matter to a system that must never place twice and must know every fill, as the
double reproduces them:

| quirk | what the double does | source |
|---|---|---|
| client order id is `cl_ord_id`: a long UUID, a short UUID (32 hex) or free text ≤ 18 characters; exclusive with `userref` | ccxt sends `params={'clientOrderId': …}` as `cl_ord_id`; anything else answers `EGeneral:Invalid arguments:cl_ord_id` | docs.kraken.com: Spot Client Order Identifiers; ccxt kraken `order_request` |
| `cl_ord_id` is unique among *open* orders only | a second open order with it is refused (`EOrder:Duplicate cl_ord_id`, the word is ours: Kraken documents the check, not the word → ccxt ExchangeError); once the first is closed the same id places a new order | docs: Spot Client Order Identifiers ("uniqueness across open orders") |
| AddOrder's answer does not echo `cl_ord_id` | `{"descr": {"order": …}, "txid": [id]}` only (ccxt: clientOrderId None) | ccxt recorded response (RECORDED below) createOrder |
| OpenOrders / ClosedOrders / QueryOrders carry `cl_ord_id` (then `userref` null) | echoed on every order that has one | ccxt kraken `fetch_open_orders` recorded comment; docs: Get Open Orders |
| lookup by our id: OpenOrders and ClosedOrders take a `cl_ord_id` filter; QueryOrders does not (txid only, `userref` an integer) | ccxt `fetch_order(id, params={'clientOrderId': x})` sends `userref=x` → `EGeneral:Invalid arguments:userref`; use `fetch_open_orders` / `fetch_closed_orders(params={'clientOrderId': x})` | docs: Query Orders Info, Get Open/Closed Orders; ccxt issue #10021 |
| how long an order stays queryable | Kraken documents no purge; ClosedOrders pages 50 at a time, newest first (`ofs`) → every order stays queryable, paged | docs: Get Closed Orders |
| a cancelled order with fills | REST `status: "canceled"` with `vol_exec` > 0 (ccxt: canceled, filled > 0); socket `exec_type/order_status: canceled` with `cum_qty` | docs: Order lifecycle; ccxt `parse_order_status` |
| socket events: `pending_new` (every detail), then `new`, `trade` per fill, `filled`/`canceled`/`expired` with ids and cumulative figures only (no symbol, side, qty) | the same; a trade's `order_status` is `partially_filled` even when it fills the order (completion is the `filled` event) | docs: Executions channel; ccxt pro kraken `handle_orders`/`parse_ws_order` recorded comments |
| ccxt routes a whole executions message by its first item's `exec_type`: `trade` → watch_my_trades only, anything else → watch_orders only | one event per update message, so each reaches the right watcher; the subscription's snapshot is one message, open orders then (with `snap_trades`, which ccxt's watch_my_trades asks and watch_orders does not) the last 50 trades, so ccxt reads it whole as orders or whole as trades; ccxt's watch_orders reads `clientOrderId` from `order_userref` (0), our id is in `info['cl_ord_id']`; an update without symbol is not merged by ccxt with the order's earlier events, so a `canceled`/`filled` event comes out of watch_orders with `symbol` None, `filled` None and `amount` = `cum_qty` (what executed, not what was ordered): read the executed quantity from `info['cum_qty']` | ccxt pro kraken `handle_message`, `parse_ws_order` |
| signing: API-Sign = HMAC-SHA512(path + SHA256(nonce + body), base64-decoded secret); nonce strictly increasing per key | unknown key `EAPI:Invalid key` (ccxt AuthenticationError); wrong secret `EAPI:Invalid signature` (ccxt has no mapping: ExchangeError); stale nonce `EAPI:Invalid nonce` (InvalidNonce) | docs: Spot REST Authentication, Errors |
| rate limits: a per-key counter, decaying | over it `EAPI:Rate limit exceeded`; trading calls `EOrder:Rate limit exceeded` (ccxt DDoSProtection) | docs: API rate limits; ccxt kraken `exceptions` |
| QueryOrders of an unknown txid / CancelOrder of an unknown or closed order | `EOrder:Invalid order` (ccxt InvalidOrder) / `EOrder:Unknown order` (ccxt cancel_order: OrderNotFound) | ccxt kraken `exceptions`, `cancel_order` |
| order rules from AssetPairs: `ordermin`, `costmin`, `pair_decimals`, `lot_decimals` | `EOrder:Order minimum not met` (ccxt InvalidOrder), `EOrder:Cost minimum not met`, `EOrder:Invalid price:XBTUSD price can only be specified up to 1 decimals.`, `EGeneral:Invalid arguments:volume` (the last three ccxt ExchangeError / InvalidOrder as its table says; ccxt rounds price and amount itself) | docs: Get Tradable Asset Pairs, Errors; ccxt kraken `exceptions` |
| fees in the quote currency by default (oflags `fciq`) | fees charged in quote; ccxt's REST trades assume quote too | ccxt recorded response (RECORDED below), oflags fciq |
| WebSocket token: use within 15 minutes, then valid while its subscription lives | the same; a bad token's subscribe answers `EAccount:Invalid permissions` | docs: Get Websockets Token |

RECORDED: ccxt's recorded Kraken payloads,
https://github.com/ccxt/ccxt/blob/master/ts/src/test/static/response/kraken.json (createOrder, fetchOrder,
fetchOpenOrders, fetchDeposits, fetchTicker); the tests compare the double's answers' keys with them.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from typing import Any

from aiohttp import web

from worker.lab.doubles.core import DoubleExchange, LedgerEntry, Market, Trade
from worker.lab.doubles.kraken import shapes
from worker.lab.doubles.kraken.auth import Gate
from worker.lab.doubles.kraken.rest import KrakenRest
from worker.lab.doubles.kraken.ws import Conn, KrakenWs
from worker.lab.doubles.server import DoubleServer

FAULT_WORDS = ("rate_limit", "lose_placement_answers", "close_sockets", "silent")
# Kraken's REST call counter per tier (ceiling, decay a second; docs: Spot REST Rate Limits). The default
# is generous (ccxt's own pace stays under even STARTER's counter); a double the lab runs the worker fast
# against is given PRO, the tier of a key an operator would set a faster pace for (demo_exchanges.LAB_LIMITS).
STARTER = (15.0, 0.33)
PRO = (20.0, 1.0)
GENEROUS = (1000.0, 100.0)


def default_markets() -> list[Market]:
    """Kraken's natural BTC and ETH books (USD, USDT, USDC), ticks and minimums as AssetPairs gives them."""
    def market(symbol: str, bid: str, tick: str, minimum: str) -> Market:
        base, quote = symbol.split("/")
        b, t = Decimal(bid), Decimal(tick)
        return Market(symbol, base, quote, bid=b, ask=b + t, last=b, tick=t, step=Decimal("0.00000001"),
                      min_amount=Decimal(minimum), min_cost=Decimal("0.5"))
    return [market("BTC/USD", "60000.0", "0.1", "0.00005"), market("BTC/USDT", "60000.0", "0.1", "0.00005"),
            market("BTC/USDC", "60000.00", "0.01", "0.00005"), market("ETH/USD", "3000.00", "0.01", "0.002"),
            market("ETH/USDT", "3000.00", "0.01", "0.002")]


class KrakenDouble(KrakenRest, KrakenWs, DoubleServer):
    name = "kraken"

    def __init__(self, exchange: DoubleExchange, keys: dict[str, str], counter: tuple[float, float] = GENEROUS) -> None:
        self.counter_ceiling = counter
        self.conns: list[Conn] = []
        self.seen: dict[str, str] = {}
        self._trade_nos: dict[str, int] = {}
        self._next_trade_no = count(1)
        self._refids: dict[str, str] = {}
        super().__init__(exchange, keys)
        self.gate = Gate(self.keys)  # the same dict: a key added to the double is a key Kraken knows

    def routes(self, router: web.UrlDispatcher) -> None:
        self.rest_routes(router)
        self.ws_routes(router)

    def trade_no(self, trade: Trade) -> int:
        """Kraken's integer trade_id (sequential per pair; one sequence suffices for a double)."""
        if trade.id not in self._trade_nos:
            self._trade_nos[trade.id] = next(self._next_trade_no)
        return self._trade_nos[trade.id]

    def refid(self, entry: LedgerEntry) -> str:
        """A ledger line's refid: the trade's id, or a funding reference shared by a deposit's lines."""
        if entry.reference:
            return entry.reference
        return self._refids.setdefault(entry.id, self.exchange.new_id("funding"))

    async def _admin_faults(self, request: web.Request) -> web.Response:
        response = await super()._admin_faults(request)
        if self.faults.pop("close_sockets", None):
            await self.close_sockets()
        return response


def kraken_double(keys: dict[str, str], markets: list[Market] | None = None, **faults: Any) -> KrakenDouble:
    """A Kraken double for `keys` (api key → base64 secret, as Kraken issues them), over `markets`
    (default: BTC and ETH against USD, USDT, USDC). `faults` start set (see FAULT_WORDS); `counter=(ceiling,
    decay per second)` sets the per-key call counter (generous by default; STARTER and PRO are Kraken's tiers)."""
    counter = faults.pop("counter", GENEROUS)
    exchange = DoubleExchange(markets or default_markets(), new_id=shapes.Ids(), taker_fee=shapes.TAKER_FEE,
                              maker_fee=shapes.MAKER_FEE, fee_in="quote")
    double = KrakenDouble(exchange, keys, counter)
    double.faults.update(faults)
    return double
