"""The frame queue's cost per frame does not grow with the frames waiting (worker/valr/framequeue.py)."""

from __future__ import annotations

import asyncio
from collections import deque

from worker.valr.events import AccountEvent
from worker.valr.framequeue import OPEN_ORDERS, FrameQueue

FILL = ("NEW_ACCOUNT_TRADE", "ORDER_STATUS_UPDATE", OPEN_ORDERS,
        "BALANCE_UPDATE", "BALANCE_UPDATE", "NEW_ACCOUNT_HISTORY_RECORD")


class CountingDeque(deque):
    """Counts the entries an iteration reads, in either direction."""

    read = 0

    def __iter__(self):
        for entry in super().__iter__():
            self.read += 1
            yield entry

    def __reversed__(self):
        for entry in super().__reversed__():
            self.read += 1
            yield entry


def test_a_superseded_list_is_found_among_the_newest_frames_not_after_every_frame_waiting():
    """Under a burst up to `limit` frames wait; each fill's list drops the previous fill's, six frames
    back. Searched from the oldest frame, every fill read all the frames waiting (30 µs a fill with
    1,000 waiting, against 5)."""
    queue = FrameQueue(2000, lambda text, at: None)
    queue._waiting = CountingDeque()

    async def receive() -> None:
        for i, kind in enumerate(FILL * 200):
            await queue.put(AccountEvent(kind, [] if kind == OPEN_ORDERS else {}, {"type": kind, "n": i}, 0.0))

    asyncio.run(receive())
    assert queue.superseded == 199 and len(queue) == 6 * 200 - 199
    read = queue._waiting.read
    assert read <= 199 * 7, read  # from the newest: the new list, the five frames before it, the old list
    batch = queue.take(2000)
    assert [e.raw["n"] for e in batch if e.type == OPEN_ORDERS] == [6 * 199 + 2]  # the newest list, in its place
    assert batch.superseded == 199 and sorted(batch.dropped_before.values()) == [1] * 199
