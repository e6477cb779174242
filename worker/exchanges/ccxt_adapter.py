"""One adapter for every exchange reached through ccxt (Binance, Kraken, Coinbase): ccxt's async REST and
its `pro` WebSocket methods, used as published and configured (`enableRateLimit`, `newUpdates`,
`options`), never patched. What differs between exchanges and breaks our rules if ignored is in one
table, `QUIRKS`; everything else is ccxt's unified API. ccxt's answers are handed to SQL unchanged
(its unified order and trade structures); its exceptions become the worker's categories
(`worker/exchanges/base.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
import ccxt.pro

from worker.exchanges.base import MaySend
from worker.exchanges.credentials import ExchangeCredentials
from worker.exchanges.urls import point_at
from worker.valr.errors import (
    AuthenticationError, DuplicateCustomerOrderId, OrderNotFound, PlacementAnswerLost, RateLimited,
    TransportError, ValrError,
)
from worker.valr.rest import PlacedOrder, PlacementNotSent

T = TypeVar("T")

# A lookup by client id that can only list open and recent orders looks this far back: the lost-placement
# lookup runs seconds after the POST (placement_lookup_after_s), well inside it.
RECENT_ORDERS = timedelta(hours=24)
TRADES_SLACK_MS = 120_000  # trades read from a little before the order's submission: clocks differ


@dataclass(frozen=True)
class Quirks:
    """What one exchange does differently, each a fact read from ccxt's source for that exchange
    (`ccxt/async_support/<name>.py`) and the exchange's published API."""
    client_id_param: str      # create_order's params key for our client order id
    # How an order is found by our client id after a lost answer: 'fetch_order' (the exchange looks it
    # up by client id, any age: `lookup_param` names the id in fetch_order's params) or 'open_and_recent'
    # (only by listing open orders and recently closed ones, then matching clientOrderId).
    lookup_by_client_id: str
    lookup_param: str | None
    order_trades: str         # 'fetch_order_trades', or 'my_trades' (the account's trades, filtered by order)
    watch_my_trades: bool     # False: the account stream is orders only; fills come from the order's trades
    options: dict = field(default_factory=dict)  # ccxt options (configuration, not patches)
    market_buy_by_base: bool = False  # ccxt would send a market buy as a quote amount: send base size instead
    # the price stream: 'watch_ticker', or 'watch_bids_asks' where ccxt's ticker carries no best bid and ask
    price_stream: str = "watch_ticker"
    # How the account's history is read (the ledger, worker/daemon/ledger.py): 'ledger' (fetch_ledger of
    # every currency, paged by offset), 'ledger_per_currency' (fetch_ledger needs a currency code: each
    # currency of the balance, ccxt's own pagination) or 'deposits_withdrawals' (no spot ledger in ccxt).
    history: str = "ledger"


QUIRKS: dict[str, Quirks] = {
    # newClientOrderId ^[.A-Z:/a-z0-9_-]{1,36}$ (a UUID fits); GET /api/v3/order by origClientOrderId;
    # myTrades?orderId= is the order's trades. Spot markets only: ccxt would also load futures' markets.
    # The account's open orders in one call (weight 80 rather than 6 per symbol: the safety net is rare);
    # ccxt refuses it unless told the weight is known.
    "binance": Quirks(client_id_param="newClientOrderId", lookup_by_client_id="fetch_order",
                      lookup_param="origClientOrderId", order_trades="fetch_order_trades", watch_my_trades=True,
                      options={"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                               "defaultType": "spot", "warnOnFetchOpenOrdersWithoutSymbol": False,
                               # the reconciliation lists every open order at once (a weight we accept)
                               "fetchOpenOrders": {"warnWithoutSymbol": False},
                               # a deposit's balanceUpdate is a delta: ccxt adds it to a REST snapshot only
                               # when asked (without one, `free` would be the delta alone)
                               "watchBalance": {"fetchBalanceSnapshot": True, "awaitBalanceSnapshot": True}},
                      price_stream="watch_bids_asks",  # its watch_ticker reads a stream without bid/ask
                      # fetchLedger is futures/options only (spot: NotSupported); GET /sapi/v1/capital/
                      # deposit/hisrec and withdraw/history are the spot account's deposits and withdrawals
                      history="deposits_withdrawals"),
    # cl_ord_id (ccxt maps clientOrderId to it on AddOrder); ccxt's fetch_order by client id sends it as
    # `userref` (an integer), not cl_ord_id: look it up among open and recently closed orders instead.
    # fetchOrderTrades is emulated from the order's trade ids: read the account's trades for the pair.
    "kraken": Quirks(client_id_param="clientOrderId", lookup_by_client_id="open_and_recent", lookup_param=None,
                     order_trades="my_trades", watch_my_trades=True),
    # ccxt drops params.clientOrderId and sends its own 'ccxt-<uuid>' unless client_order_id is given;
    # no lookup by client_order_id; no watchMyTrades (its user channel carries orders only); a spot
    # market buy goes out as quote_size (amount × price) unless we give base_size ourselves, which
    # would make a fallback's replacement execute a quote amount, not the unexecuted quantity.
    "coinbase": Quirks(client_id_param="client_order_id", lookup_by_client_id="open_and_recent", lookup_param=None,
                       order_trades="my_trades", watch_my_trades=False, market_buy_by_base=True,
                       # v2 transactions are per account (one per currency): fetch_ledger requires a code
                       history="ledger_per_currency"),
}


def refusal(exc: BaseException, placing: bool = False) -> BaseException:
    """A ccxt exception as the worker's category (base.py). A placement's lost answer is
    PlacementAnswerLost, and so is 'duplicate client order id': the exchange holds the order already."""
    message = str(exc)[:500]
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return RateLimited(message)
    if isinstance(exc, ccxt.DuplicateOrderId):
        return PlacementAnswerLost(message) if placing else DuplicateCustomerOrderId(400, None, message)
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderNotFound(404, None, message)
    if isinstance(exc, ccxt.AuthenticationError):
        return AuthenticationError(401, None, message)
    if isinstance(exc, ccxt.ExchangeError):  # the exchange answered and refused
        return ValrError(400, None, message)
    if isinstance(exc, (ccxt.BaseError, OSError, asyncio.TimeoutError)):  # no usable answer
        return PlacementAnswerLost(message) if placing else TransportError(message)
    return exc


async def answered(call: Awaitable[T], placing: bool = False) -> T:
    try:
        return await call
    except (ccxt.BaseError, OSError, asyncio.TimeoutError) as exc:
        raise refusal(exc, placing) from None


def as_tick_sizes(markets: dict, precision_mode: int) -> dict:
    """ccxt's markets with precision as tick sizes: an exchange whose precisionMode is DECIMAL_PLACES
    gives 2 for 0.01."""
    if precision_mode != ccxt.DECIMAL_PLACES:
        return markets
    out = {}
    for symbol, market in markets.items():
        precision = dict(market.get("precision") or {})
        for key in ("amount", "price", "cost", "base", "quote"):
            if isinstance(precision.get(key), (int, float)):
                precision[key] = float(Decimal(1).scaleb(-int(precision[key])))
        out[symbol] = {**market, "precision": precision}
    return out


class CcxtAdapter:
    """One account of one exchange (credentials None: public data only: prices, pair rules)."""

    def __init__(self, exchange: str, credentials: ExchangeCredentials | None, base_url: str | None,
                 rate_limit_ms: float | None = None) -> None:
        self.exchange = exchange
        self.quirks = QUIRKS[exchange]
        config: dict[str, Any] = {"enableRateLimit": True, "newUpdates": True, "options": dict(self.quirks.options)}
        if rate_limit_ms is not None:  # <EXCHANGE>_RATE_LIMIT_MS (worker/config.py); None: ccxt's own
            config["rateLimit"] = rate_limit_ms
        if credentials is not None:
            config.update(apiKey=credentials.api_key, secret=credentials.api_secret)
            if credentials.passphrase:
                config["password"] = credentials.passphrase
        self.ccxt = point_at(getattr(ccxt.pro, exchange)(config), base_url)

    def __repr__(self) -> str:  # ccxt's own repr would show its config; never the secret
        return f"CcxtAdapter({self.exchange})"

    async def aclose(self) -> None:
        await self.ccxt.close()

    # -- placement ------------------------------------------------------------------------------
    async def place_limit_order(self, subaccount_id: str, *, pair: str, side: str, quantity: Decimal,
                                price: Decimal, customer_order_id: str, post_only: bool = False,
                                time_in_force: str | None = None, may_send: MaySend | None = None) -> PlacedOrder:
        params: dict[str, Any] = {}
        if post_only:
            params["postOnly"] = True
        if time_in_force:
            params["timeInForce"] = time_in_force
        return await self._create(pair, "limit", side, quantity, price, customer_order_id, params, may_send)

    async def place_market_order(self, subaccount_id: str, *, pair: str, side: str, base_amount: Decimal,
                                 customer_order_id: str, may_send: MaySend | None = None) -> PlacedOrder:
        params: dict[str, Any] = {}
        if self.quirks.market_buy_by_base and side.lower() == "buy":
            await answered(self.ccxt.load_markets())
            params["createMarketBuyOrderRequiresPrice"] = False  # else ccxt refuses a buy without a price
            params["order_configuration"] = {
                "market_market_ioc": {"base_size": self.ccxt.amount_to_precision(pair, float(base_amount))}}
        return await self._create(pair, "market", side, base_amount, None, customer_order_id, params, may_send)

    async def _create(self, pair: str, kind: str, side: str, amount: Decimal, price: Decimal | None,
                      customer_order_id: str, params: dict, may_send: MaySend | None) -> PlacedOrder:
        """The one POST: the database's word first (may_send stamps the attempt), then create_order,
        never retried here (a lost answer is looked up by our client id)."""
        await answered(self.ccxt.load_markets())  # before the stamp: no market read between stamp and POST
        if may_send is not None and not await may_send(1):
            raise PlacementNotSent(1)
        params[self.quirks.client_id_param] = customer_order_id
        order = await answered(self.ccxt.create_order(pair, kind, side.lower(), float(amount),
                                                      None if price is None else float(price), params),
                               placing=True)
        return PlacedCcxtOrder(id=str(order["id"]), customer_order_id=customer_order_id, payload=order)

    # -- lookups --------------------------------------------------------------------------------
    async def order_status(self, subaccount_id: str, pair: str, *, order_id: str | None = None,
                           customer_order_id: str | None = None) -> dict:
        if order_id is not None:
            return await answered(self.ccxt.fetch_order(order_id, pair))
        if self.quirks.lookup_by_client_id == "fetch_order":
            return await answered(self.ccxt.fetch_order(None, pair, {self.quirks.lookup_param: customer_order_id}))
        return await self._find_recent(pair, str(customer_order_id))

    async def _find_recent(self, pair: str, customer_order_id: str) -> dict:
        """Our client id among the open orders, then among those closed within RECENT_ORDERS; not
        there: OrderNotFound (SQL's lost-placement grace decides what that means)."""
        since = self.ccxt.milliseconds() - int(RECENT_ORDERS.total_seconds() * 1000)
        for read in (lambda: self.ccxt.fetch_open_orders(pair), lambda: self.ccxt.fetch_closed_orders(pair, since)):
            for order in await answered(read()):
                if order.get("clientOrderId") == customer_order_id:
                    return order
        raise OrderNotFound(404, None, f"{self.exchange}: no open or recent order with client id {customer_order_id}")

    async def open_orders(self, subaccount_id: str) -> list[dict]:
        return await answered(self.ccxt.fetch_open_orders())

    async def cancel_order(self, subaccount_id: str, pair: str, *, order_id: str | None = None,
                           customer_order_id: str | None = None) -> Any:
        return await answered(self.ccxt.cancel_order(order_id, pair))

    async def order_trades(self, subaccount_id: str, pair: str, order_id: str, *,
                           since: datetime | None = None) -> list[dict]:
        start = int(since.timestamp() * 1000) - TRADES_SLACK_MS if since else None
        if self.quirks.order_trades == "fetch_order_trades":
            return await answered(self.ccxt.fetch_order_trades(order_id, pair, start))
        trades = await answered(self.ccxt.fetch_my_trades(pair, start))
        return [t for t in trades if str(t.get("order")) == str(order_id)]

    # -- streams --------------------------------------------------------------------------------
    @property
    def streams_trades(self) -> bool:
        """Whether the account stream carries trades (watch_my_trades); if not, an order's fills are
        read from its trades over REST when an order update says it executed more."""
        return self.quirks.watch_my_trades and bool(self.ccxt.has.get("watchMyTrades"))

    def account_reads(self) -> list[AsyncIterator[tuple[list[dict], list[dict]]]]:
        """The account stream as reads of (orders, trades): watch_orders, and watch_my_trades where the
        exchange has it. Each read is what ccxt received since the last one (newUpdates)."""
        reads = [self._reads(self.ccxt.watch_orders, orders=True)]
        if self.streams_trades:
            reads.append(self._reads(self.ccxt.watch_my_trades, orders=False))
        return reads

    async def _reads(self, watch: Callable[[], Awaitable[list[dict]]],
                     orders: bool) -> AsyncIterator[tuple[list[dict], list[dict]]]:
        """ccxt hands an update only to a watch call already waiting: one that arrives while none waits
        (Binance's NEW and FILLED back to back, processed in one go by ccxt's reader) lands in ccxt's
        cache and would be returned only with the NEXT message, which may never come. So the next call
        is armed before a read is handed on, and ccxt's cache is swept every SWEEP_S for entries this
        stream has not handed on yet (`Unseen`)."""
        unseen = Unseen(lambda: getattr(self.ccxt, "orders" if orders else "myTrades", None), orders)
        pending = asyncio.ensure_future(watch())
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=SWEEP_S)
                items: list[dict] = []
                if pending in done:
                    items = list(await answered(pending))
                    pending = asyncio.ensure_future(watch())
                items = unseen.take(items)
                if items:
                    yield (items, []) if orders else ([], items)
        finally:
            pending.cancel()

    def stream_up(self) -> bool:
        """The private subscription is up: a socket of this account connected, with a subscription
        sent on it (ccxt sends the subscribe message as the socket connects)."""
        for client in list(self.ccxt.clients.values()):
            connected = client.connected
            if connected.done() and not connected.cancelled() and connected.exception() is None \
                    and client.subscriptions:
                return True
        return False

    async def close_streams(self) -> None:
        """Every socket closed: the watch loops end with an error, which the session expects."""
        for client in list(self.ccxt.clients.values()):
            try:
                await client.close()
            except Exception:  # noqa: BLE001 - a socket already gone is closed enough
                pass
        self.ccxt.clients.clear()

    # -- the ledger (worker/daemon/ledger.py) ------------------------------------------------------
    @property
    def watches_balance(self) -> bool:
        return bool(self.ccxt.has.get("watchBalance"))

    async def balance(self) -> dict:
        """ccxt's unified balance (record_exchange_balances reads it)."""
        return await answered(self.ccxt.fetch_balance())

    async def watch_balance(self) -> dict:
        return await answered(self.ccxt.watch_balance())

    async def history(self, since_ms: int | None, codes: list[str]) -> list[dict]:
        """Everything the account's history holds from since_ms (None: all the exchange gives), as
        ccxt's unified ledger entries or deposit/withdrawal transactions, read to the end before it is
        recorded in one call (record_exchange_transactions moves the cursor with it). codes: the
        account's currencies (an exchange that reads history per currency)."""
        how = self.quirks.history
        if how == "deposits_withdrawals":
            # ccxt asks Binance for [since, since + 90 days] (its limit): a cursor older than that would
            # never see newer entries. Entries before the window were read by the hourly syncs.
            if since_ms is not None:
                since_ms = max(since_ms, self.ccxt.milliseconds() - DEPOSIT_WINDOW_MS)
            return [*await answered(self.ccxt.fetch_deposits(None, since_ms)),
                    *await answered(self.ccxt.fetch_withdrawals(None, since_ms))]
        if how == "ledger_per_currency":
            entries: list[dict] = []
            for code in [c for c in codes if c in (self.ccxt.currencies or {})]:  # ccxt's fetch_ledger refuses others
                entries += await answered(self.ccxt.fetch_ledger(code, since_ms, None, {"paginate": True}))
            return entries
        return await self._ledger_pages(since_ms)

    async def _ledger_pages(self, since_ms: int | None) -> list[dict]:
        """Kraken's Ledgers: newest first, LEDGER_PAGE at a time from `start` (seconds, exclusive), paged
        by `ofs` until a short page. `start` is sent as a param (since None): ccxt would also drop the
        entries of that second before since_ms, and a short page would then end the read early."""
        params: dict[str, Any] = {} if since_ms is None else {"start": since_ms // 1000 - 1}
        entries: list[dict] = []
        while True:
            page = await answered(self.ccxt.fetch_ledger(None, None, None, {**params, "ofs": len(entries)}))
            entries += page
            if len(page) < LEDGER_PAGE:
                return entries

    async def watch_price(self, pair: str) -> dict:
        """The pair's next ticker (symbol, bid, ask, last, timestamp) from the exchange's price stream."""
        if self.quirks.price_stream == "watch_bids_asks":
            tickers = await answered(self.ccxt.watch_bids_asks([pair]))
            return tickers[pair]
        return await answered(self.ccxt.watch_ticker(pair))

    async def markets(self) -> dict:
        """Spot markets as tick sizes (refresh_exchange_pairs reads ccxt's market structure)."""
        markets = await answered(self.ccxt.load_markets(reload=True))
        spot = {symbol: m for symbol, m in markets.items() if m.get("spot")}
        return as_tick_sizes(spot, self.ccxt.precisionMode)


DEPOSIT_WINDOW_MS = 89 * 86_400_000  # within Binance's 90 days a deposit/withdrawal history read covers
LEDGER_PAGE = 50  # Kraken's Ledgers answers at most 50 entries a call
SWEEP_S = 0.25  # how often ccxt's order and trade caches are checked for updates no watch call returned


class Unseen:
    """What a stream has handed on, so that ccxt's cache can be swept for the rest: an order by its id and
    version (status, filled, remaining, last update), a trade by its id. Handing one on twice would be
    harmless (SQL records each once), only wasted."""

    def __init__(self, cache: Callable[[], Any], orders: bool) -> None:
        self.cache, self.orders = cache, orders
        # What the cache holds as a stream (re)starts was handed on by an earlier stream of this adapter,
        # or is covered by the reconciliation a connect is followed by: only later changes are swept.
        self.seen: set = {self.key(item) for item in list(cache() or [])}

    def key(self, item: dict) -> Any:
        if not self.orders:
            return item.get("id")
        return (item.get("id"), item.get("status"), item.get("filled"), item.get("remaining"),
                item.get("lastUpdateTimestamp") or item.get("timestamp"))

    def take(self, read: list[dict]) -> list[dict]:
        """The read, plus every cached entry not handed on yet, each once. What is remembered is what the
        cache and the read still hold (ccxt's cache is bounded): a persistent stream's memory stays flat."""
        out, held = [], set()
        for item in [*read, *list(self.cache() or [])]:
            key = self.key(item)
            held.add(key)
            if key not in self.seen:
                self.seen.add(key)
                out.append(self.as_read(item))
        self.seen &= held
        return out

    def as_read(self, item: dict) -> dict:
        """An order as the exchange said it, without the `trades` ccxt accumulates in its cached copy:
        ccxt's Binance appends every trade of an order to it, so an order filled n times was handed to SQL
        with n trades at each update (figure 12's Binance fill → commit grew 10 → 39 ms over 1,000 fills
        of one order). SQL reads trades from the trade stream (or REST), never from an order. A copy:
        ccxt's cache is left as it is."""
        if self.orders and item.get("trades"):
            return {k: v for k, v in item.items() if k != "trades"}
        return item


@dataclass(frozen=True)
class PlacedCcxtOrder(PlacedOrder):
    payload: dict = field(default_factory=dict, repr=False)  # ccxt's order, for record_placement
