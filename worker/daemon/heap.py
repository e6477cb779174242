"""The worker's Python heap and CPython's cyclic garbage collector: no loop stall per full collection.

A worker holding thousands of subaccount sockets keeps about a million long-lived objects (each
session's socket, transport, tasks and buffers). CPython's collector traverses its whole oldest
generation at every full collection, and starts one whenever the objects promoted there since the
last one reach a quarter of it. At 2,000 subaccounts that was every 3-10 s, each holding the event
loop for 110-420 ms: every frame read meanwhile waited, and that was figure 6's event → commit p99
(docs/performance.md, History).

So every FREEZE_EVERY_S the keeper collects what is not frozen yet (what became long-lived since its
last turn: the garbage among it is freed, not frozen) and moves what is alive into the collector's
permanent generation (`gc.freeze()`: constant time). No automatic collection traverses that
generation: at 2,000 subaccounts a turn's own collection takes about 3 ms (median), where each full
collection took 110-420 ms. Frozen objects are still freed as soon as their last reference goes
(reference counting). Only garbage held in a reference cycle waits: a session's socket and its tasks
once the session ended, a REST call in flight at a turn. So the keeper unfreezes and collects everything
  * once the sessions that ended since the last full collection reach a quarter of those held (and at
    least MIN_ENDED): CPython's own rule, counted in sessions, so a lease hand-over or a reconnect
    storm gives its sockets' memory back within FREEZE_EVERY_S;
  * and at least every FULL_EVERY_S, for the rest (a 12-minute soak at 2,000 subaccounts left 836
    such objects in the permanent generation).
Each of those is one stall as long as one of the old ones: once an hour, or after a hand-over,
instead of one every few seconds. When the worker stops, the heap is unfrozen and collected whole (a
process that embeds the worker, like the tests, gets its collector back as it was, with no garbage
held back).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Protocol

from worker.daemon.backoff import pause
from worker.logs import event

log = logging.getLogger("worker.heap")

FREEZE_EVERY_S = 2.0
FULL_EVERY_S = 3600.0
MIN_ENDED = 50  # sessions ended since the last full collection before their share is looked at


def full_collection_due(ended: int, held: int, since_full_s: float) -> str | None:
    """Why a full collection is due now (None: it is not): 'sessions_ended' or 'interval'."""
    if ended >= MIN_ENDED and ended * 4 >= held:
        return "sessions_ended"
    if since_full_s >= FULL_EVERY_S:
        return "interval"
    return None


class Sessions(Protocol):
    """What the keeper reads of the session registry: how many sessions it holds, how many have left it."""
    ended: int

    def __len__(self) -> int: ...


class HeapKeeper:
    def __init__(self, sessions: Sessions, stopping: asyncio.Event) -> None:
        self.sessions = sessions
        self.stopping = stopping
        self.ended_at_full = sessions.ended
        self.last_full = time.monotonic()

    async def run(self) -> None:
        try:
            while not await pause(FREEZE_EVERY_S, self.stopping):
                self.step()
        finally:  # the garbage the freezes held back is freed now, not at some later collection
            self.collect_all("stop")

    def step(self) -> None:
        """One turn: a collection — of everything if one is due, else of what is not frozen yet (what
        became long-lived since the last turn: the garbage among it is freed, not frozen) — then
        freeze what is alive."""
        ended = self.sessions.ended - self.ended_at_full
        why = full_collection_due(ended, len(self.sessions), time.monotonic() - self.last_full)
        if why is not None:
            self.collect_all(why)
        else:
            gc.collect()  # the permanent generation is not traversed
        gc.freeze()

    def collect_all(self, why: str) -> None:
        began = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        self.ended_at_full = self.sessions.ended
        self.last_full = time.monotonic()
        event(log, "heap: full collection", logging.DEBUG, reason=why, unreachable=found,
              ms=round((time.perf_counter() - began) * 1000, 1))
