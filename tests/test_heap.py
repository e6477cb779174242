"""The heap keeper (worker/daemon/heap.py): what is alive is frozen out of CPython's full collections,
and cyclic garbage a freeze caught is still reclaimed: when a quarter of the sessions have ended, at
the interval, and the heap is unfrozen when the worker stops. In-process, on this process's collector."""

from __future__ import annotations

import asyncio
import gc
import uuid
import weakref

import pytest

from worker.daemon import heap
from worker.daemon.heap import HeapKeeper, full_collection_due
from worker.daemon.registry import SessionRegistry


@pytest.fixture(autouse=True)
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


class Cycle:
    """Garbage only a collection can free: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


class Counts:
    """The registry as the keeper reads it: sessions held, sessions ended so far."""

    def __init__(self, held: int) -> None:
        self.ended, self.held = 0, held

    def __len__(self) -> int:
        return self.held

    def keeper(self) -> HeapKeeper:
        return HeapKeeper(self, asyncio.Event())


def frozen_garbage() -> weakref.ref:
    """A reference cycle, frozen while alive, then dropped: garbage in the permanent generation."""
    cycle = Cycle()
    gc.freeze()
    ref = weakref.ref(cycle)
    del cycle
    return ref


def test_a_full_collection_is_due_when_a_quarter_of_the_sessions_ended_or_at_the_interval():
    assert full_collection_due(ended=0, held=2000, since_full_s=0) is None
    assert full_collection_due(ended=499, held=2000, since_full_s=0) is None
    assert full_collection_due(ended=500, held=2000, since_full_s=0) == "sessions_ended"
    assert full_collection_due(ended=1000, held=1000, since_full_s=0) == "sessions_ended"  # a hand-over
    # a few sessions of a small worker: not every close is a full collection
    assert full_collection_due(ended=heap.MIN_ENDED - 1, held=4, since_full_s=0) is None
    assert full_collection_due(ended=heap.MIN_ENDED, held=4, since_full_s=0) == "sessions_ended"
    assert full_collection_due(ended=3, held=2000, since_full_s=heap.FULL_EVERY_S) == "interval"


def test_a_step_with_nothing_due_frees_the_garbage_not_yet_frozen_and_freezes_what_is_alive():
    counts = Counts(held=2000)
    keeper = counts.keeper()
    frozen = frozen_garbage()
    young = Cycle()
    young_ref, alive = weakref.ref(young), Cycle()
    del young
    keeper.step()
    assert young_ref() is None          # garbage that was not frozen: freed, not frozen
    assert frozen() is not None         # the permanent generation is not traversed
    assert gc.get_freeze_count() > 0
    gc.collect()                        # nor by an automatic collection
    assert frozen() is not None and alive.me is alive


def test_frozen_cyclic_garbage_is_reclaimed_once_a_quarter_of_the_sessions_ended():
    counts = Counts(held=200)
    keeper = counts.keeper()
    ref = frozen_garbage()
    counts.ended = heap.MIN_ENDED - 1
    keeper.step()
    assert ref() is not None
    counts.ended = heap.MIN_ENDED  # 50 of 200 held
    keeper.step()
    assert ref() is None
    assert gc.get_freeze_count() > 0  # frozen again after the collection
    ref = frozen_garbage()
    keeper.step()  # counted from the last full collection: nothing more ended
    assert ref() is not None


def test_frozen_cyclic_garbage_is_reclaimed_at_the_interval():
    counts = Counts(held=2000)
    keeper = counts.keeper()
    ref = frozen_garbage()
    keeper.last_full -= heap.FULL_EVERY_S
    keeper.step()
    assert ref() is None


def test_the_heap_is_unfrozen_and_its_held_back_garbage_freed_when_the_keeper_stops(monkeypatch):
    monkeypatch.setattr(heap, "FREEZE_EVERY_S", 0.01)
    counts = Counts(held=10)
    keeper = counts.keeper()
    refs = []

    async def run_then_stop() -> None:
        task = asyncio.create_task(keeper.run())
        while gc.get_freeze_count() == 0:
            await asyncio.sleep(0.005)
        refs.append(frozen_garbage())
        keeper.stopping.set()
        await task

    asyncio.run(run_then_stop())
    assert gc.get_freeze_count() == 0
    assert refs[0]() is None


def test_the_registry_counts_the_sessions_that_left_it():
    class Session:
        def __init__(self, account_id: uuid.UUID, subaccount_id: str) -> None:
            self.subaccount_id, self.stop_reason, self.finished = subaccount_id, None, False

        @property
        def done(self) -> bool:
            return self.finished

        def start(self) -> None:
            pass

        async def stop(self, reason: str) -> None:
            self.stop_reason = reason

    registry = SessionRegistry(Session)
    a, b, c = (uuid.uuid4() for _ in range(3))
    for account in (a, b, c):
        registry.ensure(account, "sub")
    asyncio.run(registry.stop(a, registry.get(a), "lease_lost"))
    asyncio.run(registry.stop(a, Session(a, "sub"), "not registered"))  # not the registered one: no count
    registry.get(b).finished = True
    registry.prune_done()
    assert registry.ended == 2
    registry.get(c).stop_reason = "no_open_orders"  # a session that stopped itself, replaced
    registry.ensure(c, "sub")
    assert registry.ended == 3
    registry.detach_all()
    assert registry.ended == 4 and len(registry) == 0
