"""The exchange doubles' shared state, in exchange-neutral words: accounts, orders, trades, balances, a
market per symbol and each account's ledger. A personality (one per exchange: binance, kraken, coinbase) speaks
one exchange's REST and WebSocket protocol over it, in that exchange's shapes, ids and error answers;
nothing here knows any protocol.

Money behaves as on a real exchange, inconvenient parts included: a resting limit order reserves what it
could spend (a buy its quote at its price, a sell its base) until it fills or is cancelled, so a market
order sent while a cancelled limit's funds are still reserved can be refused for insufficient funds; a
market order takes the touch (never a price beyond `slippage_band` from it); fees are charged in the
currency received. Every change is told to the listeners in the order it happened: the personality turns
each into its own socket messages.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

OPEN, CLOSED, CANCELED, EXPIRED, REJECTED = "open", "closed", "canceled", "expired", "rejected"  # ccxt's words
DEFAULT_TOTALS = {"BTC": Decimal("1000"), "ETH": Decimal("10000"), "USD": Decimal("100000000"),
                  "USDT": Decimal("100000000"), "USDC": Decimal("100000000"), "EUR": Decimal("100000000")}


def now_ms() -> int:
    return int(time.time() * 1000)


class DoubleError(Exception):
    """A refusal in neutral words (`kind`: unknown_symbol, insufficient_funds, unknown_order,
    duplicate_client_id, invalid_amount, invalid_price, not_open); the personality answers it in its
    exchange's error shape."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Market:
    symbol: str              # ccxt's unified symbol, e.g. 'BTC/USDT'
    base: str
    quote: str
    bid: Decimal
    ask: Decimal
    last: Decimal
    tick: Decimal = Decimal("0.01")         # price step
    step: Decimal = Decimal("0.00001")      # base quantity step
    min_amount: Decimal = Decimal("0.00001")
    min_cost: Decimal = Decimal("1")
    slippage_band: Decimal = Decimal("0.05")  # a market order never trades beyond this fraction from the touch
    updated_ms: int = field(default_factory=now_ms)


@dataclass
class Trade:
    id: str
    order_id: str
    account: str
    symbol: str
    side: str
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    maker: bool
    ms: int


@dataclass
class Order:
    id: str
    client_id: str | None
    account: str
    symbol: str
    side: str                 # buy | sell
    type: str                 # limit | market
    amount: Decimal
    price: Decimal | None
    created_ms: int
    status: str = OPEN
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)  # what this order holds of its spend currency while it rests
    updated_ms: int = 0
    trades: list[Trade] = field(default_factory=list)
    reason: str | None = None  # why it was rejected, cancelled or expired

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def average(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None


@dataclass
class LedgerEntry:
    id: str
    account: str
    currency: str
    amount: Decimal          # signed: a credit is positive
    kind: str                # deposit | withdrawal | trade | fee | transfer
    ms: int
    reference: str | None    # the trade or transfer it belongs to
    balance_after: Decimal
    fee: Decimal = Decimal(0)


@dataclass
class Balance:
    total: Decimal
    reserved: Decimal = Decimal(0)

    @property
    def free(self) -> Decimal:
        return self.total - self.reserved


Listener = Callable[[str, Any], None]  # (kind: order | trade | balance | ledger | ticker, the object)


class DoubleExchange:
    """One exchange's state. `new_id(kind)` makes the exchange's own ids (kind: order, trade, ledger), so
    each personality's ids look like its exchange's."""

    def __init__(self, markets: list[Market], new_id: Callable[[str], str] | None = None,
                 taker_fee: Decimal = Decimal("0.001"), maker_fee: Decimal = Decimal("0.0008"),
                 fee_in: str = "received") -> None:
        self.markets = {m.symbol: m for m in markets}
        self.fee_in = fee_in  # 'received' (the currency a trade brings in) or 'quote' (Kraken's fciq)
        self._counter = itertools.count(1)
        self.new_id = new_id or (lambda kind: str(next(self._counter)))
        self.taker_fee, self.maker_fee = taker_fee, maker_fee
        self.orders: dict[str, Order] = {}
        self.trades: list[Trade] = []
        self.ledger: list[LedgerEntry] = []
        self.balances: dict[tuple[str, str], Balance] = {}
        self.listeners: list[Listener] = []

    # -- telling -------------------------------------------------------------------------------------
    def _tell(self, kind: str, obj: Any) -> None:
        for listener in list(self.listeners):
            listener(kind, obj)

    # -- reading -------------------------------------------------------------------------------------
    def market(self, symbol: str) -> Market:
        market = self.markets.get(symbol)
        if market is None:
            raise DoubleError("unknown_symbol", f"unknown symbol {symbol}")
        return market

    def balance(self, account: str, currency: str) -> Balance:
        key = (account, currency)
        if key not in self.balances:
            self.balances[key] = Balance(DEFAULT_TOTALS.get(currency, Decimal(0)))
        return self.balances[key]

    def balances_of(self, account: str) -> dict[str, Balance]:
        for currency in DEFAULT_TOTALS:
            self.balance(account, currency)
        return {c: b for (a, c), b in self.balances.items() if a == account}

    def order(self, account: str, order_id: str | None = None, client_id: str | None = None) -> Order:
        """The account's order by the exchange's id, else its newest by client id."""
        found = self.orders.get(order_id) if order_id else None
        if found is None and client_id:
            found = next((o for o in reversed(list(self.orders.values()))
                          if o.client_id == client_id and o.account == account), None)
        if found is None or found.account != account:
            raise DoubleError("unknown_order", "order does not exist")
        return found

    def open_orders(self, account: str, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders.values()
                if o.account == account and o.status == OPEN and (symbol is None or o.symbol == symbol)]

    def account_trades(self, account: str, symbol: str | None = None, order_id: str | None = None) -> list[Trade]:
        return [t for t in self.trades if t.account == account and (symbol is None or t.symbol == symbol)
                and (order_id is None or t.order_id == order_id)]

    def account_ledger(self, account: str) -> list[LedgerEntry]:
        return [e for e in self.ledger if e.account == account]

    # -- orders ----------------------------------------------------------------------------------------
    def place(self, account: str, symbol: str, side: str, type_: str, amount: Decimal,
              price: Decimal | None = None, client_id: str | None = None) -> Order:
        """Accept an order (funds reserved) and trade what the market reaches at once; refusals raise."""
        market = self.market(symbol)
        self._check_order(account, market, side, type_, amount, price, client_id)
        order = Order(id=self.new_id("order"), client_id=client_id, account=account, symbol=symbol, side=side,
                      type=type_, amount=amount, price=price, created_ms=now_ms())
        order.updated_ms = order.created_ms
        self.orders[order.id] = order
        if type_ == "limit":
            self._reserve(order)
        self._tell("order", order)
        if type_ == "market":
            self._take_market(order, market)
        elif self._crosses(order, market):
            self.fill(order, price=market.ask if side == "buy" else market.bid, maker=False)
        return order

    def _check_order(self, account: str, market: Market, side: str, type_: str, amount: Decimal,
                     price: Decimal | None, client_id: str | None) -> None:
        if side not in ("buy", "sell") or type_ not in ("limit", "market"):
            raise DoubleError("invalid_order", f"unsupported {type_} {side}")
        if amount <= 0 or amount < market.min_amount or amount % market.step:
            raise DoubleError("invalid_amount", f"amount {amount} breaks the step {market.step} or minimum")
        if type_ == "limit" and (price is None or price <= 0 or price % market.tick):
            raise DoubleError("invalid_price", f"price {price} breaks the tick {market.tick}")
        if client_id and any(o.client_id == client_id and o.account == account and o.status == OPEN
                             for o in self.orders.values()):
            raise DoubleError("duplicate_client_id", f"an open order already has client id {client_id}")
        touch = market.ask if side == "buy" else market.bid
        spend_currency, need = self._spend(market, side, amount, price if type_ == "limit" else touch)
        if self.balance(account, spend_currency).free < need:
            raise DoubleError("insufficient_funds", f"insufficient {spend_currency}: {need} needed")

    @staticmethod
    def _spend(market: Market, side: str, amount: Decimal, price: Decimal) -> tuple[str, Decimal]:
        return (market.quote, amount * price) if side == "buy" else (market.base, amount)

    def _reserve(self, order: Order) -> None:
        market = self.market(order.symbol)
        currency, need = self._spend(market, order.side, order.remaining, order.price or market.last)
        self.balance(order.account, currency).reserved += need - order.reserved
        order.reserved = need

    def _release(self, order: Order) -> None:
        market = self.market(order.symbol)
        currency = market.quote if order.side == "buy" else market.base
        self.balance(order.account, currency).reserved -= order.reserved
        order.reserved = Decimal(0)

    @staticmethod
    def _crosses(order: Order, market: Market) -> bool:
        if order.status != OPEN or order.type != "limit" or order.price is None:
            return False
        return order.price >= market.ask if order.side == "buy" else order.price <= market.bid

    def _take_market(self, order: Order, market: Market) -> None:
        """A market order trades at the touch, all at once (the doubles keep no depth)."""
        self.fill(order, price=market.ask if order.side == "buy" else market.bid, maker=False)

    def fill(self, order: Order, amount: Decimal | None = None, price: Decimal | None = None,
             maker: bool = True) -> Trade:
        """One trade of `amount` (default: all that remains) at `price` (default: the order's limit,
        else the touch); the order closes when nothing remains. Balances and ledger follow."""
        if order.status != OPEN:
            raise DoubleError("not_open", f"order {order.id} is {order.status}")
        market = self.market(order.symbol)
        qty = min(amount or order.remaining, order.remaining)
        at = price or order.price or (market.ask if order.side == "buy" else market.bid)
        fee_rate = self.maker_fee if maker else self.taker_fee
        received = market.base if order.side == "buy" and self.fee_in == "received" else market.quote
        fee = (qty if received == market.base else qty * at) * fee_rate
        trade = Trade(id=self.new_id("trade"), order_id=order.id, account=order.account, symbol=order.symbol,
                      side=order.side, price=at, amount=qty, fee=fee, fee_currency=received, maker=maker, ms=now_ms())
        order.filled += qty
        order.cost += qty * at
        order.trades.append(trade)
        order.updated_ms = trade.ms
        self.trades.append(trade)
        self._settle(order, trade, market)
        if order.remaining == 0:
            order.status = CLOSED
        self._tell("trade", trade)
        self._tell("order", order)
        return trade

    def _settle(self, order: Order, trade: Trade, market: Market) -> None:
        if order.type == "limit":
            self._release(order)
        base, quote = trade.amount, trade.amount * trade.price
        base_fee = trade.fee if trade.fee_currency == market.base else Decimal(0)
        quote_fee = trade.fee - base_fee
        if order.side == "buy":
            self._book(order.account, market.quote, -quote - quote_fee, "trade", trade.id, fee=quote_fee)
            self._book(order.account, market.base, base - base_fee, "trade", trade.id, fee=base_fee)
        else:
            self._book(order.account, market.base, -base - base_fee, "trade", trade.id, fee=base_fee)
            self._book(order.account, market.quote, quote - quote_fee, "trade", trade.id, fee=quote_fee)
        if order.type == "limit" and order.remaining > 0:  # what still rests stays reserved
            self._reserve(order)

    def cancel(self, account: str, order_id: str | None = None, client_id: str | None = None,
               status: str = CANCELED, reason: str | None = None) -> Order:
        """Cancel (or expire, or reject) an open order: its reservation is released."""
        order = self.order(account, order_id, client_id)
        if order.status != OPEN:
            raise DoubleError("not_open", f"order {order.id} is {order.status}")
        self._release(order)
        order.status, order.reason, order.updated_ms = status, reason, now_ms()
        self._tell("order", order)
        return order

    # -- the market --------------------------------------------------------------------------------------
    def set_market(self, symbol: str, bid: Decimal | None = None, ask: Decimal | None = None,
                   last: Decimal | None = None) -> Market:
        """Move the touch; every resting limit order it reaches trades at its own price (maker)."""
        market = self.market(symbol)
        market.bid = bid if bid is not None else market.bid
        market.ask = ask if ask is not None else market.ask
        market.last = last if last is not None else (market.bid + market.ask) / 2
        market.updated_ms = now_ms()
        self._tell("ticker", market)
        for order in [o for o in self.orders.values() if o.symbol == symbol and self._crosses(o, market)]:
            self.fill(order, maker=True)
        return market

    # -- money in and out ----------------------------------------------------------------------------------
    def _book(self, account: str, currency: str, amount: Decimal, kind: str, reference: str | None,
              fee: Decimal = Decimal(0)) -> LedgerEntry:
        balance = self.balance(account, currency)
        balance.total += amount
        entry = LedgerEntry(id=self.new_id("ledger"), account=account, currency=currency, amount=amount, kind=kind,
                            ms=now_ms(), reference=reference, balance_after=balance.total, fee=fee)
        self.ledger.append(entry)
        self._tell("balance", (account, currency, balance))
        self._tell("ledger", entry)
        return entry

    def deposit(self, account: str, currency: str, amount: Decimal) -> LedgerEntry:
        return self._book(account, currency, amount, "deposit", None)

    def withdraw(self, account: str, currency: str, amount: Decimal, fee: Decimal = Decimal(0)) -> LedgerEntry:
        if self.balance(account, currency).free < amount:
            raise DoubleError("insufficient_funds", f"insufficient {currency}")
        return self._book(account, currency, -amount, "withdrawal", None, fee=fee)
