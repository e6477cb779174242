"""Figure 8's comparison: the original design's 10-second polling loop, run by the bench on its own
subaccount. Every `every_s` it GETs the pair's market summary and each open order's status (by
customerOrderId) over REST, then, per order:

* a limit order whose trigger is due (age: VALR's accept + fallback_after; price: the ask at or above
  its threshold) is cancelled (DELETE);
* one it cancelled that VALR now reports Cancelled has its remainder POSTed at market — only then, as
  in our design, so the limit's funds are released first;
* a market order is polled until VALR says it is finished.

It places its orders itself (the same POST /v1/orders/limit our worker makes), so what it costs is
the polling and the fallback, counted by the simulator like ours.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

from worker.valr import ValrClient

OPEN = ("Placed", "Active", "Partially Filled")


@dataclass
class PolledOrder:
    customer_order_id: str
    qty: Decimal
    threshold: Decimal | None = None   # price trigger: the ask at or above which it fires
    after_s: float | None = None       # age trigger: fallback_after
    due_at: float | None = None        # and when it falls due (epoch seconds)
    market: bool = False
    replaces: str | None = None        # a market order: the limit order it replaces
    cancel_sent: bool = False
    finished: bool = False


class Poller:
    def __init__(self, client: ValrClient, subaccount: str, pair: str, every_s: float) -> None:
        self.client, self.subaccount, self.pair, self.every_s = client, subaccount, pair, every_s
        self.orders: list[PolledOrder] = []

    async def place(self, qty: Decimal, limit: Decimal, *, threshold: Decimal | None = None,
                    after_s: float | None = None) -> PolledOrder:
        order = PolledOrder(str(uuid.uuid4()), qty, threshold)
        await self.client.place_limit_order(self.subaccount, pair=self.pair, side="BUY", quantity=qty, price=limit,
                                            customer_order_id=order.customer_order_id)
        if after_s is not None:
            order.after_s, order.due_at = after_s, time.time() + after_s  # the 202 is its best knowledge of VALR's accept time
        self.orders.append(order)
        return order

    @property
    def done(self) -> bool:
        return all(o.finished for o in self.orders)

    async def run(self) -> int:
        """Poll every every_s (from the first cycle, not from the end of the last) until every order,
        replacements included, is finished. Returns the number of cycles."""
        start, cycles = time.monotonic(), 0
        while not self.done:
            await self.cycle()
            cycles += 1
            await asyncio.sleep(max(0.0, start + cycles * self.every_s - time.monotonic()))
        return cycles

    async def cycle(self) -> None:
        ask = Decimal((await self.client.market_summary(self.pair))["askPrice"])
        for order in [o for o in self.orders if not o.finished]:
            status = (await self.client.order_status(self.subaccount, self.pair,
                                                     customer_order_id=order.customer_order_id))
            state = status.get("orderStatusType")
            if state in OPEN:
                if not order.market and not order.cancel_sent and self._due(order, ask):
                    await self.client.cancel_order(self.subaccount, self.pair, customer_order_id=order.customer_order_id)
                    order.cancel_sent = True
                continue
            order.finished = True
            if state == "Cancelled" and order.cancel_sent and Decimal(status.get("remainingQuantity") or 0) > 0:
                await self._replace(order, Decimal(status["remainingQuantity"]))

    def _due(self, order: PolledOrder, ask: Decimal) -> bool:
        return ((order.due_at is not None and time.time() >= order.due_at)
                or (order.threshold is not None and ask >= order.threshold))

    async def _replace(self, order: PolledOrder, remaining: Decimal) -> None:
        market = PolledOrder(str(uuid.uuid4()), remaining, market=True, replaces=order.customer_order_id)
        await self.client.place_market_order(self.subaccount, pair=self.pair, side="BUY", base_amount=remaining,
                                             customer_order_id=market.customer_order_id)
        self.orders.append(market)
