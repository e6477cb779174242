"""The auto mode's matching model: each placed order is, by chance (seeded), failed at processing,
cancelled, expired, or filled in one or more trades after jittered delays."""

from __future__ import annotations

import asyncio
import logging
import random
from decimal import ROUND_DOWN, Decimal

from worker.lab.sim.book import PAIRS, Exchange, Order
from worker.lab.sim.config import SimConfig
from worker.lab.sim.faults import Faults
from worker.lab.sim.shapes import SimError

log = logging.getLogger(__name__)


class Matcher:
    def __init__(self, exchange: Exchange, config: SimConfig, rng: random.Random, faults: Faults) -> None:
        self.exchange = exchange
        self.config = config
        self.rng = rng
        self.faults = faults
        self._tasks: set[asyncio.Task] = set()

    def processing_fault(self) -> str | None:
        """Decided at processing time: does this order fail (e.g. insufficient balance)?"""
        if self.config.mode == "auto" and self.rng.random() < self.config.fail_fraction:
            return "Insufficient Balance"
        return None

    def placed(self, order: Order) -> None:
        if self.config.mode != "auto" or order.subaccount_id in self.faults.resting_subaccounts:
            return
        self._start(order)

    def release(self, subaccount_id: str) -> None:
        """The subaccount's resting orders go to the matching model now (resting_subaccounts fault)."""
        if self.config.mode == "auto":
            for order in self.exchange.open_orders(subaccount_id):
                self._start(order)

    def _start(self, order: Order) -> None:
        task = asyncio.get_running_loop().create_task(self._play(order))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _play(self, order: Order) -> None:
        roll = self.rng.random()
        cfg = self.config
        try:
            if roll < cfg.cancel_fraction + cfg.expire_fraction:
                # Sometimes a partial fill first, then the cancellation/expiry.
                if self.rng.random() < 0.5:
                    await self._sleep()
                    self._fill(order, self._part(order, Decimal("0.5")))
                await self._sleep()
                if order.is_open:
                    if roll < cfg.cancel_fraction:
                        self.exchange.cancel(order)
                    else:
                        self.exchange.expire(order)
                return
            fills = self.rng.randint(*cfg.fills_per_order)
            for index in range(fills):
                await self._sleep()
                if not order.is_open:
                    return
                last = index == fills - 1
                self._fill(order, None if last else self._part(order, Decimal(1) / (fills - index)))
        except SimError as exc:  # the order was finished meanwhile (e.g. an admin cancel)
            log.debug("matcher: %s", exc.message)

    def _part(self, order: Order, share: Decimal) -> Decimal | None:
        step = Decimal(1).scaleb(-PAIRS[order.pair].base_decimal_places)
        part = (order.remaining * share).quantize(step, rounding=ROUND_DOWN)
        return part if 0 < part < order.remaining else None

    def _fill(self, order: Order, quantity: Decimal | None) -> None:
        if order.is_open:
            self.exchange.fill(order, quantity)

    async def _sleep(self) -> None:
        await asyncio.sleep(self.config.fill_delay_s * self.rng.uniform(0.5, 1.5))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
