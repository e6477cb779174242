"""Fallbacks first (worker/daemon/fallbacks_first.py): while a fallback's cancel waits for VALR's word,
the work that can wait waits — until VALR's word settles every such fallback, and never longer than the
hold. A pure asyncio object, tested on a clock the test moves; the worker's wiring is in
test_fallback_hand_over.py."""

from __future__ import annotations

import asyncio
import uuid

from worker.daemon.fallbacks_first import FallbacksFirst


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def finished(task: asyncio.Task) -> bool:
    """Whether the task has finished once everything ready to run has run."""
    for _ in range(5):
        await asyncio.sleep(0)
    return task.done()


def waiting_behind_one_fallback(clock: Clock) -> tuple[FallbacksFirst, asyncio.Task]:
    """A fallback in flight (hold 0.05 s on the test's clock) and work that began to wait behind it."""
    fallbacks = FallbacksFirst(hold_max_s=0.05, clock=clock)
    fallbacks.started([uuid.uuid4()])
    return fallbacks, asyncio.create_task(fallbacks.after_fallbacks())


def test_with_no_fallback_in_flight_nothing_waits():
    async def scenario() -> bool:
        fallbacks = FallbacksFirst()
        return await finished(asyncio.create_task(fallbacks.after_fallbacks()))

    assert asyncio.run(scenario())


def test_work_waits_until_valrs_word_settles_every_fallback_in_flight():
    async def scenario() -> list[bool]:
        fallbacks, a, b = FallbacksFirst(hold_max_s=60), uuid.uuid4(), uuid.uuid4()
        fallbacks.started([a, b])
        work = asyncio.create_task(fallbacks.after_fallbacks())
        seen = [await finished(work)]
        fallbacks.settled([a])
        seen.append(await finished(work))
        fallbacks.settled([uuid.uuid4()])  # an order that was no fallback of ours: changes nothing
        seen.append(await finished(work))
        fallbacks.settled([b])
        seen.append(await finished(work))
        seen.append(fallbacks.waiting == 0)
        return seen

    assert asyncio.run(scenario()) == [False, False, False, True, True]


def test_one_settle_call_settles_all_it_names():
    async def scenario() -> int:
        fallbacks, ids = FallbacksFirst(hold_max_s=60), [uuid.uuid4() for _ in range(3)]
        fallbacks.started(ids)
        fallbacks.settled(ids)
        return fallbacks.waiting

    assert asyncio.run(scenario()) == 0


def test_a_fallback_whose_word_never_comes_holds_work_back_no_longer_than_the_hold():
    clock = Clock()

    async def scenario() -> list[bool]:
        fallbacks, work = waiting_behind_one_fallback(clock)
        seen = [await finished(work)]
        clock.now += 0.05  # the hold is over: the wait's own timeout looks again
        await asyncio.wait_for(work, timeout=5)
        seen += [work.done(), fallbacks.waiting == 0]
        return seen

    assert asyncio.run(scenario()) == [False, True, True]


def test_a_later_cancel_holds_for_its_own_hold_not_the_first_ones():
    clock = Clock()

    async def scenario() -> list[int]:
        fallbacks = FallbacksFirst(hold_max_s=1.0, clock=clock)
        fallbacks.started([uuid.uuid4()])
        clock.now += 0.6
        fallbacks.started([uuid.uuid4()])
        seen = [fallbacks.waiting]
        clock.now += 0.5  # the first one's hold is over, the second's is not
        seen.append(fallbacks.waiting)
        clock.now += 0.5
        seen.append(fallbacks.waiting)
        return seen

    assert asyncio.run(scenario()) == [2, 1, 0]


def test_fallbacks_that_keep_firing_hold_work_back_no_longer_than_the_hold():
    """A market falling through one order's threshold after another: each new cancel would extend the
    hold, but work that began to wait goes on after the hold, so the tick is never starved."""
    clock = Clock()

    async def scenario() -> list[bool]:
        fallbacks, work = waiting_behind_one_fallback(clock)
        seen = [await finished(work)]
        clock.now += 0.03
        fallbacks.started([uuid.uuid4()])  # a new fallback, its own hold until 0.08
        seen.append(await finished(work))
        clock.now += 0.02  # 0.05 since the work began to wait: it goes on, a fallback still in flight
        await asyncio.wait_for(work, timeout=5)
        seen += [work.done(), fallbacks.waiting == 1]
        return seen

    assert asyncio.run(scenario()) == [False, False, True, True]
