"""The chaos soak's intent check (issue 16): the limit → market fallback never buys twice.

A pure function over the simulator's ground truth (every VALR order with its customerOrderId, executed
quantity, status and status history; every trade), the database's orders and the market the harness
made (its bid/ask after every move), so a test can feed it fabricated inputs and see each kind of
violation detected. Per intent: VALR-executed quantity across all its orders ≤ the quantity asked.
Per replacement: its original is finished on VALR without having filled completely, that finish
came before the replacement reached VALR, it is the original's only replacement, and its quantity
is what VALR says the original did not execute. Per price fallback: the market really moved against
the order by its threshold (a favourable move never fires). Per order a person cancelled right after
its fallback fired, before VALR's final word (issue 21): no replacement at all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Iterable

import psycopg

# VALR's words for an order finished without executing all of it: what a confirmed cancel looks like.
FINISHED_UNFILLED = ("Cancelled", "Expired", "Partially Filled and Cancelled Due To Slippage", "Failed")
VIOLATION_KINDS = (
    "over_executed",                      # an intent executed more on VALR than it asked
    "replaced_without_confirmed_cancel",  # the original is not finished on VALR (or not cancelled in the database)
    "replaced_before_cancel_confirmed",   # the replacement reached VALR before the original's finish
    "replaced_a_filled_order",            # VALR filled the original completely, yet a replacement exists
    "replaced_twice",                     # more than one replacement of one original
    "replacement_qty_wrong",              # not the quantity VALR says the original did not execute
    "price_fired_without_adverse_move",   # a price fallback fired by a move that never crossed its threshold
                                          #   and held there for its confirmation (a spike that reverted)
    "replaced_after_persons_cancel",      # a person's cancel turned the fallback off, yet a replacement exists
)
# The price fallback's confirmation is measured on prices as received: a crossing the harness ended
# (its revert made) this much before the confirmation had run may still have looked held to the worker,
# whose revert frame was still on its way. A one-frame spike (0-50 ms) is far inside it.
DELIVERY_SLACK_S = 0.25


@dataclass(frozen=True)
class OrderRow:
    """The database's view of one order (lth_pvr.exchange_orders), as the check needs it."""
    exchange_order_id: str
    intent_id: str
    customer_order_id: str
    side: str
    qty: Decimal
    status: str
    price: Decimal | None = None
    ext_order_id: str | None = None
    replaces_order_id: str | None = None
    fallback_reason: str | None = None
    fallback_price_move: Decimal | None = None
    fallback_outcome: str | None = None
    created_at: float | None = None             # epoch seconds
    fallback_requested_at: float | None = None  # epoch seconds
    fallback_price_confirm_ms: int | None = None  # how long an adverse move must hold (None: 0)


@dataclass(frozen=True)
class Quote:
    """The market the harness made: from `at` (epoch seconds, taken before the move) bid/ask were these."""
    at: float
    bid: Decimal
    ask: Decimal


@dataclass
class IntentCheck:
    intents: int = 0
    fallbacks_by_reason: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)   # fallback_outcome -> count ('replaced', 'filled', …)
    replacements: int = 0            # replacement rows in the database
    replacements_on_valr: int = 0    # of which VALR received
    replacements_filled: int = 0
    replacements_failed: int = 0
    persons_cancels: int = 0         # fallbacks a person's cancel reached before VALR's final word
    violations: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in VIOLATION_KINDS})
    first_intent: str | None = None  # the intent of the first violation (its original's customerOrderId)

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def add(self, kind: str, text: str, intent: str) -> None:
        self.violations[kind].append(text)
        self.first_intent = self.first_intent or intent

    def summary(self) -> dict:
        return {"intents": self.intents, "fallbacks_by_reason": self.fallbacks_by_reason,
                "outcomes": self.outcomes, "replacements": self.replacements,
                "replacements_on_valr": self.replacements_on_valr, "replacements_filled": self.replacements_filled,
                "replacements_failed": self.replacements_failed, "persons_cancels": self.persons_cancels,
                "below_minimum": self.outcomes.get("below_minimum", 0),
                "violations": {kind: len(found) for kind, found in self.violations.items()}, "ok": self.ok}

    def problems(self) -> list[str]:
        return [f"{kind}: {text}" for kind, found in self.violations.items() for text in found]


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()


def check_intents(truth: dict, orders: list[OrderRow], quotes: list[Quote] = (),
                  persons_cancels: Iterable[str] = ()) -> IntentCheck:
    """persons_cancels: the orders a person cancelled right after their fallback fired, before VALR's
    final word on them (the harness's record: request_cancel answered anything but `terminal`)."""
    result = IntentCheck(intents=len({o.intent_id for o in orders}))
    result.fallbacks_by_reason = dict(Counter(o.fallback_reason for o in orders if o.fallback_reason))
    result.outcomes = dict(Counter(o.fallback_outcome for o in orders if o.fallback_outcome))
    valr = _valr_orders(truth, orders)
    _check_executed(result, truth, orders)
    by_id = {o.exchange_order_id: o for o in orders}
    replacements: dict[str, list[OrderRow]] = defaultdict(list)
    for order in orders:
        if order.replaces_order_id is not None:
            replacements[order.replaces_order_id].append(order)
    for original_id, replacing in replacements.items():
        original = by_id.get(original_id)
        if original is None:
            result.add("replaced_without_confirmed_cancel", f"{replacing[0].exchange_order_id}: its original "
                                                            f"{original_id} is not in the database",
                       replacing[0].intent_id)
            continue
        if len(replacing) > 1:
            result.add("replaced_twice", f"{original_id}: {len(replacing)} replacements", original.intent_id)
        for replacement in replacing:
            _check_replacement(result, original, replacement, valr.get(original.exchange_order_id),
                               valr.get(replacement.exchange_order_id))
    for order in orders:
        if order.fallback_reason == "price":
            _check_price_trigger(result, order, list(quotes))
    _check_persons_cancels(result, by_id, replacements, set(persons_cancels))
    return result


def _check_persons_cancels(result: IntentCheck, by_id: dict[str, OrderRow], replacements: dict[str, list[OrderRow]],
                           asked: set[str]) -> None:
    """A person's cancel beats a fallback in flight: neither an order the harness cancelled before VALR's
    final word, nor any the database says a person stopped (cancelled_by_person), has a replacement."""
    stopped = asked | {o.exchange_order_id for o in by_id.values() if o.fallback_outcome == "cancelled_by_person"}
    result.persons_cancels = len(stopped)
    for order_id in sorted(stopped):
        order = by_id.get(order_id)
        intent = order.intent_id if order else order_id
        if replacements.get(order_id):
            result.add("replaced_after_persons_cancel", f"{order_id}: a person cancelled it after its fallback "
                       f"fired, yet {replacements[order_id][0].exchange_order_id} replaces it", intent)
        elif order is not None and order.fallback_outcome != "cancelled_by_person":
            result.add("replaced_after_persons_cancel", f"{order_id}: a person cancelled it while its fallback "
                       f"was in flight, yet its fallback was not turned off (outcome {order.fallback_outcome})",
                       intent)


def _valr_orders(truth: dict, orders: list[OrderRow]) -> dict[str, dict]:
    """Each database order's VALR order: by VALR's id when we know it, else by customerOrderId (the
    accepted one, when VALR also refused a duplicate)."""
    by_valr_id = {o["orderId"]: o for o in truth["orders"]}
    by_cid: dict[str, list[dict]] = defaultdict(list)
    for o in truth["orders"]:
        by_cid[o["customerOrderId"]].append(o)
    found = {}
    for order in orders:
        match = by_valr_id.get(order.ext_order_id or "")
        if match is None and by_cid.get(order.customer_order_id):
            candidates = by_cid[order.customer_order_id]
            match = next((o for o in reversed(candidates) if o["status"] != "Failed"), candidates[-1])
        if match is not None:
            found[order.exchange_order_id] = match
    return found


def _check_executed(result: IntentCheck, truth: dict, orders: list[OrderRow]) -> None:
    """Per intent: the base quantity VALR traded for all its orders ≤ what the intent asked (its original's qty)."""
    intent_of = {o.customer_order_id: o.intent_id for o in orders}
    asked: dict[str, Decimal] = {}
    for o in orders:
        if o.replaces_order_id is None:
            asked[o.intent_id] = max(asked.get(o.intent_id, Decimal(0)), o.qty)
    executed: dict[str, Decimal] = defaultdict(Decimal)
    for trade in truth["trades"]:
        intent = intent_of.get(trade["customerOrderId"])
        if intent is not None:
            executed[intent] += Decimal(trade["quantity"])
    for intent, qty in sorted(executed.items()):
        if qty > asked.get(intent, Decimal(0)):
            result.add("over_executed", f"intent {intent}: VALR executed {qty} > asked {asked.get(intent)}",
                       intent)


def _finish(valr_order: dict) -> tuple[str, float | None]:
    """VALR's final status of an order and when it got it (None while open)."""
    status = valr_order["status"]
    at = next((h["at"] for h in valr_order["history"] if h["status"] == status), valr_order["updatedAt"])
    return status, (epoch(at) if status in (*FINISHED_UNFILLED, "Filled") else None)


def _check_replacement(result: IntentCheck, original: OrderRow, replacement: OrderRow,
                       valr_original: dict | None, valr_replacement: dict | None) -> None:
    rid, oid = replacement.exchange_order_id, original.exchange_order_id
    result.replacements += 1
    if valr_replacement is not None:
        result.replacements_on_valr += 1
        result.replacements_filled += valr_replacement["status"] == "Filled"
        result.replacements_failed += valr_replacement["status"] == "Failed"
    if valr_original is None:
        result.add("replaced_without_confirmed_cancel", f"{rid}: its original {oid} never reached VALR",
                   original.intent_id)
        return
    status, finished_at = _finish(valr_original)
    if status == "Filled":
        result.add("replaced_a_filled_order", f"{rid}: VALR filled its original {oid} completely",
                   original.intent_id)
        return
    if status not in FINISHED_UNFILLED or original.status not in ("cancelled", "failed"):
        result.add("replaced_without_confirmed_cancel",
                   f"{rid}: its original {oid} is {status} on VALR, {original.status} in the database",
                   original.intent_id)
        return
    if valr_replacement is not None and finished_at is not None and epoch(valr_replacement["createdAt"]) < finished_at:
        result.add("replaced_before_cancel_confirmed",
                   f"{rid} reached VALR at {valr_replacement['createdAt']}, before its original {oid} "
                   f"ended {status}", original.intent_id)
    unexecuted = Decimal(valr_original["quantity"]) - Decimal(valr_original["filledQuantity"])
    if replacement.qty != unexecuted:
        result.add("replacement_qty_wrong", f"{rid}: qty {replacement.qty}, VALR says {unexecuted} of its "
                                            f"original {oid} was not executed", original.intent_id)


def _check_price_trigger(result: IntentCheck, order: OrderRow, quotes: list[Quote]) -> None:
    """A price fallback is right only if, between the order's insert and its firing, the market the
    harness made crossed its threshold against it (BUY: ask ≥ limit × (1 + move); SELL: bid ≤ limit × (1 − move))
    and stayed past it for the order's confirmation (less DELIVERY_SLACK_S): a spike that reverted sooner
    must not have fired."""
    if not quotes or order.price is None or order.fallback_price_move is None or order.fallback_requested_at is None:
        return
    quotes = sorted(quotes, key=lambda q: q.at)
    since = order.created_at if order.created_at is not None else quotes[0].at
    in_effect = [q for q in quotes if q.at <= since][-1:] + [q for q in quotes if since < q.at <= order.fallback_requested_at]
    if order.side.upper() == "BUY":
        threshold = order.price * (1 + order.fallback_price_move)
        crosses = [q.ask >= threshold for q in in_effect]
        seen = max((q.ask for q in in_effect), default=None)
    else:
        threshold = order.price * (1 - order.fallback_price_move)
        crosses = [q.bid <= threshold for q in in_effect]
        seen = min((q.bid for q in in_effect), default=None)
    confirm_s = (order.fallback_price_confirm_ms or 0) / 1000
    held = _longest_crossing(in_effect, crosses, since, order.fallback_requested_at)
    if held is None or held < confirm_s - (DELIVERY_SLACK_S if confirm_s else 0):
        what = "the market only reached" if held is None else f"past it for {held:.3f}s (confirmation {confirm_s}s), at"
        result.add("price_fired_without_adverse_move",
                   f"{order.exchange_order_id}: {order.side} at {order.price}, move {order.fallback_price_move}: "
                   f"threshold {threshold}, {what} {seen}", order.intent_id)


def _longest_crossing(in_effect: list[Quote], crosses: list[bool], since: float, until: float) -> float | None:
    """The longest time (seconds) consecutive quotes in effect stayed past the threshold, counted from the
    order's insert at the earliest to the next quote or the firing; None when none crossed."""
    longest, start = None, None
    for i, (quote, crossed) in enumerate(zip(in_effect, crosses)):
        if not crossed:
            start = None
            continue
        start = max(quote.at, since) if start is None else start
        end = in_effect[i + 1].at if i + 1 < len(in_effect) else until
        longest = max(longest or 0.0, end - start)
    return longest


def load_orders(conn: psycopg.Connection) -> list[OrderRow]:
    rows = conn.execute(
        """SELECT exchange_order_id::text, intent_id::text, customer_order_id::text, side, qty, status, price,
                  ext_order_id, replaces_order_id::text, fallback_reason, fallback_price_move, fallback_outcome,
                  extract(epoch FROM created_at)::float8, extract(epoch FROM fallback_requested_at)::float8,
                  fallback_price_confirm_ms
             FROM lth_pvr.exchange_orders
            WHERE exchange = 'valr'""").fetchall()  # the other exchanges' intents: chaos.exchanges
    return [OrderRow(*row) for row in rows]
