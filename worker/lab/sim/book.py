"""The simulated exchange's state: orders and trades of every (sub)account, each its own book, and the
account events VALR sends for each change, in VALR's order and VALR's JSON shapes."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Callable

from worker.lab.sim.balances import Balances
from worker.lab.sim.history import record_fill
from worker.lab.sim.ledger import Ledger
from worker.lab.sim.market import Market, Quote
from worker.lab.sim.pairs import INACTIVE_PAIRS, PAIRS, REBATE_PAIRS
from worker.lab.sim.shapes import SimError, now_iso, num, uuid7
from worker.valr.pairs import PairRule

Emit = Callable[[str, dict], None]  # (subaccount id, frame)

OPEN_STATUSES = ("Placed", "Partially Filled")
CUSTOMER_ORDER_ID = re.compile(r"^[0-9a-zA-Z-]{0,50}$")
_SEQUENCE = itertools.count(1368928567986638000)  # VALR's sequenceIds exceed 2^53
# VALR's words (the postman collection's examples and the docs' status list).
INSUFFICIENT_BALANCE = "Insufficient Balance"
OUTSIDE_SLIPPAGE_BAND = "Order cancelled as it would have matched outside of slippage price band"
SLIPPAGE_CANCELLED = "Partially Filled and Cancelled Due To Slippage"


def decimal_field(body: dict, name: str) -> Decimal:
    """VALR accepts numbers as JSON numbers or strings."""
    value = body.get(name)
    if value is None or isinstance(value, bool):
        raise SimError(400, -11, f"Validation Failed: {name} is required")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise SimError(400, -11, f"Validation Failed: {name} is not a number") from None
    if not result.is_finite() or result <= 0:
        raise SimError(400, -11, f"Validation Failed: {name} must be positive")
    return result


@dataclass
class Order:
    order_id: str
    subaccount_id: str
    pair: str
    side: str            # "buy" / "sell"
    price: Decimal
    quantity: Decimal
    post_only: bool
    time_in_force: str
    customer_order_id: str
    created_at: str
    status: str = "Accepted"   # internal until processed
    filled: Decimal = Decimal(0)
    failed_reason: str = ""
    updated_at: str = ""
    snapshots: list[dict] = field(default_factory=list)   # ORDER_STATUS_UPDATE data, oldest first
    history: list[dict] = field(default_factory=list)
    kind: str = "limit"             # "limit" / "market"
    quote_amount: Decimal | None = None  # a market order given in quote currency (quoteAmount)
    reserved: Decimal = Decimal(0)  # funds this resting order holds (quote for a buy, base for a sell)

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def order_type(self) -> str:
        if self.kind == "market":
            return "market"
        return "post-only limit" if self.post_only else "limit"

    def status_view(self, executed: tuple[Decimal, Decimal, Decimal] | None = None) -> dict:
        """The shape of GET /v1/orders/{pair}/orderid/{id} and of ORDER_STATUS_UPDATE's data."""
        view = {
            "orderId": self.order_id, "orderStatusType": self.status, "currencyPair": self.pair,
            "originalPrice": num(self.price), "remainingQuantity": num(self.remaining),
            "originalQuantity": num(self.quantity), "orderSide": self.side, "orderType": self.order_type,
            "failedReason": self.failed_reason, "orderUpdatedAt": self.updated_at,
            "orderCreatedAt": self.created_at,
        }
        if self.customer_order_id:
            view["customerOrderId"] = self.customer_order_id
        if executed is not None:
            price, qty, fee = executed
            view.update(executedPrice=num(price), executedQuantity=num(qty), executedFee=num(fee))
        view["timeInForce"] = self.time_in_force
        return view

    def open_view(self, remaining_key: str) -> dict:
        """An open order as listed by GET /v1/orders/open (remainingQuantity) or OPEN_ORDERS_UPDATE (quantity)."""
        view = {"orderId": self.order_id, "side": self.side, remaining_key: num(self.remaining),
                "price": num(self.price), "currencyPair": self.pair, "createdAt": self.created_at,
                "originalQuantity": num(self.quantity),
                "filledPercentage": f"{(self.filled / self.quantity * 100):.2f}"}
        if self.customer_order_id:
            view["customerOrderId"] = self.customer_order_id
        view.update(updatedAt=self.updated_at, status=self.status, type=self.order_type,
                    timeInForce=self.time_in_force, allowMargin=False)
        return view

    def truth(self) -> dict:
        return {"orderId": self.order_id, "customerOrderId": self.customer_order_id,
                "subaccountId": self.subaccount_id, "pair": self.pair, "side": self.side,
                "price": num(self.price), "quantity": num(self.quantity), "status": self.status,
                "filledQuantity": num(self.filled), "failedReason": self.failed_reason,
                "createdAt": self.created_at, "updatedAt": self.updated_at, "history": list(self.history)}


class Exchange:
    """Every book; `emit(subaccount, frame)` delivers an account event to that subaccount's sockets."""

    def __init__(self, emit: Emit, fee_rate: Decimal = Decimal("0.001"), *, market: Market | None = None,
                 balances: Balances | None = None, take_on_placement: bool = False,
                 maker_reward_rate: Decimal = Decimal("0.0001")) -> None:
        self.emit = emit
        self.fee_rate = fee_rate
        self.maker_reward_rate = maker_reward_rate
        self.market = market or Market({p: r.tick_size for p, r in PAIRS.items()}, spread=Decimal("0.001"),
                                       volatility=0.0, seed=None)
        self.balances = balances or Balances()
        self.ledger = Ledger(emit, self.balances)
        # Fault hooks: False → this fill's order frames (trade, status, open orders) never reach the
        # socket while its history record and balances do; True → reservations send BALANCE_UPDATE.
        self.fill_on_socket: Callable[[], bool] = lambda: True
        self.reservation_updates: Callable[[], bool] = lambda: False
        # Mode "market": a limit order priced through the market trades at once, as a taker.
        self.take_on_placement = take_on_placement
        self.orders: dict[str, Order] = {}
        self.trades: list[dict] = []          # truth rows, in trade order
        self._open_by_cid: dict[tuple[str, str], Order] = {}  # (subaccount, customerOrderId) of open orders
        self.on_placed: Callable[[Order], None] | None = None  # the auto matcher hooks in here
        self.market.on_move.append(self.market_moved)

    # ---- placement ------------------------------------------------------------------------------

    def accept(self, subaccount_id: str, body: Any) -> Order:
        """POST /v1/orders/limit: validate and accept (202). Processing happens later, in process()."""
        pair, rule, side, customer_order_id = _order_basics(body)
        # VALR truncates quantity and price to the pair's precision without telling: so do we.
        quantity = _truncate(decimal_field(body, "quantity"), rule)
        price = decimal_field(body, "price")
        price = (price / rule.tick_size).to_integral_value(rounding=ROUND_DOWN) * rule.tick_size
        if quantity <= 0 or price <= 0:
            raise SimError(400, -11, "Validation Failed: quantity and price below the pair's precision")
        tif = str(body.get("timeInForce") or "GTC").upper()
        if tif not in ("GTC", "IOC", "FOK"):
            raise SimError(400, -11, "Validation Failed: timeInForce must be GTC, IOC or FOK")
        post_only = body.get("postOnly", False) in (True, "true", "True")
        stamp = now_iso()
        order = Order(uuid7(), subaccount_id, pair, side.lower(), price, quantity, post_only, tif,
                      customer_order_id, created_at=stamp, updated_at=stamp)
        self.orders[order.order_id] = order
        return order

    def accept_market(self, subaccount_id: str, body: Any) -> Order:
        """POST /v1/orders/market: baseAmount or quoteAmount (exactly one); 202, executed in process()."""
        pair, rule, side, customer_order_id = _order_basics(body)
        if (body.get("baseAmount") is None) == (body.get("quoteAmount") is None):
            raise SimError(400, -11, "Validation Failed: give exactly one of baseAmount and quoteAmount")
        quantity, quote_amount = Decimal(0), None
        if body.get("baseAmount") is not None:
            quantity = _truncate(decimal_field(body, "baseAmount"), rule)  # the docs: truncated
            if quantity <= 0:
                raise SimError(400, -11, "Validation Failed: baseAmount below the pair's precision")
        else:
            quote_amount = decimal_field(body, "quoteAmount")
        stamp = now_iso()
        order = Order(uuid7(), subaccount_id, pair, side.lower(), Decimal(0), quantity, False, "IOC",
                      customer_order_id, created_at=stamp, updated_at=stamp, kind="market",
                      quote_amount=quote_amount)
        self.orders[order.order_id] = order
        return order

    def process(self, order: Order, fail_reason: str | None = None) -> None:
        """The matching engine takes the accepted order: ORDER_PROCESSED, then Placed (or Failed)."""
        if order.status != "Accepted":
            return
        if order.customer_order_id and (order.subaccount_id, order.customer_order_id) in self._open_by_cid:
            # VALR: "If you do reuse an id value that is currently an active open order, your order will
            # not be placed" — 202 was already given; the failure shows in status and events.
            fail_reason = "Duplicate customerOrderId: an open order already uses this customerOrderId"
        plan: list[tuple[Decimal, Decimal]] = []
        if fail_reason is None and order.kind == "market":
            plan = self._market_plan(order)
            if not self._affordable(order, plan):
                fail_reason = INSUFFICIENT_BALANCE
        elif fail_reason is None and not self._reserve(order):
            fail_reason = INSUFFICIENT_BALANCE
        sub = order.subaccount_id
        self.emit(sub, {"type": "ORDER_PROCESSED", "data": {
            "orderId": order.order_id, "success": fail_reason is None, "failureReason": fail_reason or "",
            "customerOrderId": order.customer_order_id}})
        if fail_reason is not None:
            self._set_status(order, "Failed", fail_reason)
            return
        if order.kind == "market":
            self._execute_market(order, plan)
            return
        self._set_status(order, "Placed")
        self._emit_open_orders(sub)
        if self.take_on_placement:
            self._take(order, self.market.quotes[order.pair], None, at_market=True)
        if self.on_placed is not None and order.is_open:
            self.on_placed(order)

    # ---- the market: resting orders the market reaches, market orders ---------------------------

    def market_moved(self, pair: str) -> None:
        """Bid/ask moved: resting limit orders the market now reaches fill (oldest first), each at its
        own price, as far as the move's depth goes (None = all of them, fully)."""
        quote = self.market.quotes[pair]
        depth = quote.depth
        for order in [o for o in self.orders.values() if o.pair == pair and o.is_open and o.kind == "limit"]:
            if depth is not None and depth <= 0:
                break
            depth = self._take(order, quote, depth, at_market=False)

    def _take(self, order: Order, quote: Quote, depth: Decimal | None, *, at_market: bool) -> Decimal | None:
        """Fill `order` from the market if the market reaches its price; returns the depth left."""
        reached = quote.ask <= order.price if order.side == "buy" else quote.bid >= order.price
        if not reached:
            return depth
        qty = order.remaining if depth is None else min(order.remaining, depth)
        price = (quote.ask if order.side == "buy" else quote.bid) if at_market else order.price
        self.fill(order, qty, price, taker=at_market)  # at_market: it crossed the book on arrival
        return None if depth is None else depth - qty

    def _market_plan(self, order: Order) -> list[tuple[Decimal, Decimal]]:
        """(price, quantity) trades the market order would make, level by level within the slippage band."""
        rule = PAIRS[order.pair]
        plan: list[tuple[Decimal, Decimal]] = []
        base_left, quote_left = order.quantity, order.quote_amount
        for price, available in self.market.quotes[order.pair].levels(order.side):
            wanted = base_left if quote_left is None else _truncate(quote_left / price, rule)
            qty = wanted if available is None else min(wanted, available)
            if qty <= 0:
                break
            plan.append((price, qty))
            if quote_left is None:
                base_left -= qty
            else:
                quote_left -= qty * price
        return plan

    def _affordable(self, order: Order, plan: list[tuple[Decimal, Decimal]]) -> bool:
        base, quote = _currencies(order.pair)
        if order.side == "buy":
            return self.balances.can_spend(order.subaccount_id, quote, sum((p * q for p, q in plan), Decimal(0)))
        wanted = order.quantity if order.quote_amount is None else sum((q for _, q in plan), Decimal(0))
        return self.balances.can_spend(order.subaccount_id, base, wanted)

    def _execute_market(self, order: Order, plan: list[tuple[Decimal, Decimal]]) -> None:
        """At once, trade by trade; what the band leaves unfilled ends the order (VALR's words)."""
        if order.quote_amount is not None:
            order.quantity = sum((q for _, q in plan), Decimal(0))
        if not plan or order.quantity <= 0:
            self._set_status(order, "Failed", OUTSIDE_SLIPPAGE_BAND)
            return
        order.status = "Placed"  # on the book only for the instant of its trades: no event says Placed
        for price, qty in plan:
            self.fill(order, qty, price)
        if order.is_open:
            self._set_status(order, SLIPPAGE_CANCELLED)

    # ---- lifecycle ------------------------------------------------------------------------------

    def fill(self, order: Order, quantity: Decimal | None = None, price: Decimal | None = None, *,
             taker: bool = False) -> dict:
        if not order.is_open:
            raise SimError(400, -1, f"order {order.order_id} is not open ({order.status})")
        qty = order.remaining if quantity is None else Decimal(str(quantity))
        if qty <= 0 or qty > order.remaining:
            raise SimError(400, -1, f"fill quantity must be within (0, {num(order.remaining)}]")
        px = order.price if price is None else Decimal(str(price))
        fee, fee_currency = self._fee(order, qty, px, taker or order.kind == "market")
        trade = {"price": num(px), "quantity": num(qty), "currencyPair": order.pair, "tradedAt": now_iso(),
                 "side": order.side, "sequenceId": next(_SEQUENCE), "id": uuid7(), "orderId": order.order_id,
                 **_fee_fields(fee, fee_currency)}
        # The truth keeps the fee signed (a maker rebate negative), in fee/feeCurrency.
        truth = dict(trade, fee=num(fee), feeCurrency=fee_currency, customerOrderId=order.customer_order_id,
                     subaccountId=order.subaccount_id)
        self.trades.append(truth)
        order.filled += qty
        self._settle(order, qty, px, fee, fee_currency)
        emit, self.emit = self.emit, (self.emit if self.fill_on_socket() else _nowhere)
        try:
            self._announce_fill(order, trade, fee, fee_currency, px, qty)
        finally:
            self.emit = emit
        self._emit_account_records(order, truth)
        self.market.traded(order.pair, px, qty)
        return truth

    def _announce_fill(self, order: Order, trade: dict, fee: Decimal, fee_currency: str, px: Decimal,
                       qty: Decimal) -> None:
        """The order socket's frames of one fill: the trade, the status, the open-orders list."""
        event = {k: trade[k] for k in ("price", "quantity", "currencyPair", "tradedAt", "side", "orderId",
                                       "id", *_fee_fields(fee, fee_currency))}
        if order.customer_order_id:
            event["customerOrderId"] = order.customer_order_id
        self.emit(order.subaccount_id, {"type": "NEW_ACCOUNT_TRADE", "currencyPairSymbol": order.pair,
                                        "data": event})
        status = "Filled" if order.remaining == 0 else "Partially Filled"
        self._set_status(order, status, executed=(px, qty, max(fee, Decimal(0))))  # executedFee on a rebate: unknown
        if order.kind == "limit":
            self._emit_open_orders(order.subaccount_id)

    def _fee(self, order: Order, qty: Decimal, px: Decimal, taker: bool) -> tuple[Decimal, str]:
        """The fee of one fill, signed. On rebate pairs a maker (an order that rested on the book) is paid a
        reward (negative here) in the currency it pays, as VALR documents: quote when it buys, base when it sells.
        Otherwise the fee is charged in the currency received (base for a buy, quote for a sell)."""
        base, quote = _currencies(order.pair)
        rebate = order.pair in REBATE_PAIRS and not taker
        rate = -self.maker_reward_rate if rebate else self.fee_rate
        in_base = order.side == ("sell" if rebate else "buy")
        amount = qty * rate if in_base else (qty * px * rate).quantize(Decimal("0.00000001"))
        return amount, base if in_base else quote

    def _emit_account_records(self, order: Order, trade: dict) -> None:
        """What VALR also sends with every fill: the balances it moved (BALANCE_UPDATE, one per asset)
        and the account history record (NEW_ACCOUNT_HISTORY_RECORD; a maker reward is its own record)."""
        base, quote = _currencies(order.pair)
        for currency in (base, quote):
            self._balance_update(order.subaccount_id, currency)
        record_fill(self.ledger, order, trade, base, quote)

    def _balance_update(self, subaccount_id: str, currency: str) -> None:
        self.emit(subaccount_id, {"type": "BALANCE_UPDATE", "data": self.balances.view(subaccount_id, currency)})

    # ---- money ------------------------------------------------------------------------------------

    def _reserve(self, order: Order) -> bool:
        """A limit order about to rest reserves what it could spend; False when the funds are not there."""
        base, quote = _currencies(order.pair)
        currency, amount = (quote, order.price * order.quantity) if order.side == "buy" else (base, order.quantity)
        if not self.balances.reserve(order.subaccount_id, currency, amount):
            return False
        order.reserved = amount
        if self.reservation_updates():
            self._balance_update(order.subaccount_id, currency)
        return True

    def _settle(self, order: Order, qty: Decimal, price: Decimal, fee: Decimal, fee_currency: str) -> None:
        """A trade moves the balances: the spent side out (and out of the reservation), the bought side in,
        the fee out of (a maker reward into) its own currency."""
        sub, (base, quote) = order.subaccount_id, _currencies(order.pair)
        self.balances.move(sub, fee_currency, -fee)
        if order.side == "buy":
            self.balances.move(sub, quote, -(price * qty))
            self.balances.move(sub, base, qty)
            used = min(order.reserved, order.price * qty)
            reserved_in = quote
        else:
            self.balances.move(sub, base, -qty)
            self.balances.move(sub, quote, price * qty)
            used = min(order.reserved, qty)
            reserved_in = base
        if used:
            self.balances.release(sub, reserved_in, used)
            order.reserved -= used

    def _release(self, order: Order) -> None:
        """The order is finished: whatever it still reserved is available again."""
        if order.reserved:
            base, quote = _currencies(order.pair)
            currency = quote if order.side == "buy" else base
            self.balances.release(order.subaccount_id, currency, order.reserved)
            order.reserved = Decimal(0)
            if self.reservation_updates():
                self._balance_update(order.subaccount_id, currency)

    def cancel(self, order: Order) -> bool:
        """DELETE /v1/orders/order or an admin cancel. False (and FAILED_CANCEL_ORDER) when not open."""
        if not order.is_open:
            self.refuse_cancel(order)
            return False
        self._set_status(order, "Cancelled")
        self._emit_open_orders(order.subaccount_id)
        return True

    def refuse_cancel(self, order: Order) -> None:
        self.emit(order.subaccount_id, {"type": "FAILED_CANCEL_ORDER", "data": {
            "orderId": order.order_id, "message": "An error occurred while cancelling your order."}})

    def expire(self, order: Order) -> None:
        if not order.is_open:
            raise SimError(400, -1, f"order {order.order_id} is not open ({order.status})")
        self._set_status(order, "Expired")
        self._emit_open_orders(order.subaccount_id)

    def fail(self, order: Order, reason: str) -> None:
        if order.status == "Accepted":
            self.process(order, fail_reason=reason)
            return
        if not order.is_open:
            raise SimError(400, -1, f"order {order.order_id} is not open ({order.status})")
        self._set_status(order, "Failed", reason)
        self._emit_open_orders(order.subaccount_id)

    def _set_status(self, order: Order, status: str, reason: str = "",
                    executed: tuple[Decimal, Decimal, Decimal] | None = None) -> None:
        order.status = status
        if not order.is_open:
            self._release(order)
        if order.customer_order_id:
            key = (order.subaccount_id, order.customer_order_id)
            if order.is_open:
                self._open_by_cid[key] = order
            elif self._open_by_cid.get(key) is order:
                del self._open_by_cid[key]
        order.failed_reason = reason
        order.updated_at = now_iso()
        order.history.append({"status": status, "at": order.updated_at})
        view = order.status_view(executed or (Decimal(0), Decimal(0), Decimal(0)))
        order.snapshots.append(view)
        self.emit(order.subaccount_id, {"type": "ORDER_STATUS_UPDATE", "data": view})

    def _emit_open_orders(self, subaccount_id: str) -> None:
        self.emit(subaccount_id, {"type": "OPEN_ORDERS_UPDATE", "data": self.open_orders_frame(subaccount_id)})

    # ---- queries --------------------------------------------------------------------------------

    def find(self, subaccount_id: str | None, *, order_id: str | None = None,
             customer_order_id: str | None = None) -> Order | None:
        """One book's order (subaccount_id None = any book, for the admin API). By customerOrderId the
        open order wins, else the most recent."""
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is None or (subaccount_id is not None and order.subaccount_id != subaccount_id):
                return None
            return None if order.status == "Accepted" and subaccount_id is not None else order
        if subaccount_id is not None and (subaccount_id, customer_order_id) in self._open_by_cid:
            return self._open_by_cid[(subaccount_id, customer_order_id)]
        matches = [o for o in self.orders.values() if o.customer_order_id == customer_order_id
                   and (subaccount_id is None or o.subaccount_id == subaccount_id)
                   and (subaccount_id is None or o.status != "Accepted")]
        if not matches:
            return None
        open_ones = [o for o in matches if o.is_open]
        return (open_ones or matches)[-1]

    def open_with_customer_order_id(self, subaccount_id: str, customer_order_id: str) -> bool:
        return (subaccount_id, customer_order_id) in self._open_by_cid

    def open_orders(self, subaccount_id: str) -> list[Order]:
        return [o for o in self.orders.values() if o.subaccount_id == subaccount_id and o.is_open]

    def open_orders_frame(self, subaccount_id: str) -> list[dict]:
        return [o.open_view("quantity") for o in self.open_orders(subaccount_id)]

    def trade_history(self, subaccount_id: str, pair: str | None, *, limit: int, skip: int = 0,
                      before_id: str | None = None, start: datetime | None = None,
                      end: datetime | None = None) -> list[dict]:
        """Newest first, like VALR's /v1/account/tradehistory."""
        rows = [t for t in reversed(self.trades) if t["subaccountId"] == subaccount_id
                and (pair is None or t["currencyPair"] == pair)]
        if before_id is not None:
            ids = [t["id"] for t in rows]
            rows = rows[ids.index(before_id) + 1:] if before_id in ids else []
        if start is not None:
            rows = [t for t in rows if _parse(t["tradedAt"]) >= start]
        if end is not None:
            rows = [t for t in rows if _parse(t["tradedAt"]) <= end]
        keys = ("price", "quantity", "currencyPair", "tradedAt", "side", "sequenceId", "id", "orderId")
        return [{**{k: t[k] for k in keys}, **_fee_fields(Decimal(t["fee"]), t["feeCurrency"])}
                for t in rows[skip:skip + limit]]

    def truth(self) -> dict:
        return {"orders": [o.truth() for o in self.orders.values()],
                "trades": [{k: t[k] for k in ("id", "orderId", "customerOrderId", "subaccountId", "price",
                                              "quantity", "fee", "feeCurrency", "tradedAt")}
                           for t in self.trades]}


def _nowhere(subaccount_id: str, frame: dict) -> None:
    """An emitter that sends nothing (a fill kept off the order socket by the fault)."""


def _order_basics(body: Any) -> tuple[str, PairRule, str, str]:
    """pair, its rule, side and customerOrderId of an order body, validated as VALR does."""
    if not isinstance(body, dict):
        raise SimError(400, -11, "Validation Failed: body must be a JSON object")
    pair = str(body.get("pair") or "").upper()
    rule = PAIRS.get(pair)
    if rule is None:  # VALR's documented codes: -32 for a listed but inactive pair, -21 otherwise
        if pair in INACTIVE_PAIRS:
            raise SimError(400, -32, "The given currency pair is not active")
        raise SimError(400, -21, "Unsupported Currency Pair")
    side = str(body.get("side") or "").upper()
    if side not in ("BUY", "SELL"):
        raise SimError(400, -11, "Validation Failed: side must be BUY or SELL")
    customer_order_id = body.get("customerOrderId") or ""
    if not isinstance(customer_order_id, str) or not CUSTOMER_ORDER_ID.match(customer_order_id):
        raise SimError(400, -11, "Validation Failed: customerOrderId must match ^[0-9a-zA-Z-]{0,50}$")
    return pair, rule, side, customer_order_id


def _truncate(quantity: Decimal, rule: PairRule) -> Decimal:
    return quantity.quantize(Decimal(1).scaleb(-rule.base_decimal_places), rounding=ROUND_DOWN)


def _fee_fields(fee: Decimal, currency: str) -> dict:
    """A trade's fee as VALR sends it: `fee`/`feeCurrency`, or for a rebate `makerReward`/`makerRewardCurrency`."""
    if fee < 0:
        return {"makerReward": num(-fee), "makerRewardCurrency": currency}
    return {"fee": num(fee), "feeCurrency": currency}


def _currencies(pair: str) -> tuple[str, str]:
    for quote in ("USDC", "USDT", "ZAR", "BTC", "ETH"):
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)], quote
    return pair[:3], pair[3:]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
