"""The chaos run's plan of limit orders with a fallback (pure): of each reason, every other order rests
in a subaccount the market alone can fill, and an age order is priced where no jump or spike of the
run reaches it — so every run with an age order fires an age fallback, whatever its seed."""

from __future__ import annotations

from decimal import Decimal

from worker.lab.chaos.faults import JUMP_LIMIT, SPIKE_LIMIT
from worker.lab.chaos.fallback_orders import limit_price, plan_fallbacks
from worker.lab.chaos.intents import Quote


SEEDS = range(40)


def test_every_other_order_of_each_reason_rests():
    for seed in SEEDS:
        plan = plan_fallbacks(seed, 40, 0.5, 2)
        for reason in ("age", "price"):
            resting = [order.resting is not None for _, order in sorted(plan.items()) if order.reason == reason]
            assert resting == [i % 2 == 0 for i in range(len(resting))], (seed, reason, resting)


def test_without_resting_subaccounts_nothing_rests():
    assert all(order.resting is None for order in plan_fallbacks(3, 40, 0.5, 0).values())


def test_an_age_order_is_out_of_reach_of_every_move_of_the_run():
    start = Decimal(1_000_000)
    lowest = start * Decimal((1 - JUMP_LIMIT) * (1 - SPIKE_LIMIT))   # a spike down at the band's foot
    highest = start * Decimal((1 + JUMP_LIMIT) * (1 + SPIKE_LIMIT))  # a spike up at its top
    # Inserted at either end of the band the jumps keep the mid in, then the market at the other.
    top = Quote(0, start * Decimal(1 + JUMP_LIMIT) - 500, start * Decimal(1 + JUMP_LIMIT) + 500)
    bottom = Quote(0, start * Decimal(1 - JUMP_LIMIT) - 500, start * Decimal(1 - JUMP_LIMIT) + 500)
    ages = [order for seed in SEEDS for order in plan_fallbacks(seed, 40, 0.5, 2).values() if order.reason == "age"]
    assert ages
    for order in ages:
        assert limit_price("BUY", order.offset, top) < lowest, order
        assert limit_price("SELL", order.offset, bottom) > highest, order
