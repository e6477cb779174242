"""The frames of one account socket between its reader and the session that records them: bounded,
and an open-orders list that a newer one supersedes dropped before it is ever recorded.

Bounded: when `limit` frames wait, the reader stops taking frames off the socket until the recorder
takes a batch. websockets then stops reading from the connection once its own small buffer is full,
the kernel's receive window closes, and VALR's side waits: TCP backpressure, instead of a queue that
grows with however far the database has fallen behind (1,000 open orders in one subaccount grew the
worker to 1 GB in a minute, each fill recorded 10 s late).

Superseded lists. VALR sends OPEN_ORDERS_UPDATE after every change of any order of the subaccount,
always with the full list of its open orders (VALR's API documentation: "always carries the full list"), so with
n open orders every change costs an n-item frame. Of the lists waiting here together, only the newest
is kept; each older one is dropped. Why nothing that matters is lost:
  * A list is a snapshot of which orders are open. The newest one waiting is the latest word on every
    order it names; an order named only by an older one left the open list since, and VALR says how
    with the order's own frames — ORDER_STATUS_UPDATE (filled, cancelled, failed, …) and each fill's
    NEW_ACCOUNT_TRADE — which are never dropped. Our submitted orders the newest list lacks are
    `missing` there, as they would have been after the older list had it been recorded first.
  * Lists carry no fills: trades are recorded from NEW_ACCOUNT_TRADE (and REST) by their trade id;
    an item's status and originalQuantity are repeated by every later list while the order is open.
  * The kept list keeps its own place, after every frame received before it, so nothing it says is
    applied before a frame that preceded it; only lists still waiting are dropped (one already taken
    for recording is recorded).
A list is kept as received and parsed only when taken for recording (the reader tells it by its
first bytes, `{"type":"OPEN_ORDERS_UPDATE"`, as VALR writes them; a list written otherwise is parsed
on arrival and treated the same): 1,000 items are ~300 kB of JSON, and parsing each one as it
arrived held up the fill's own frames read just before it. A frame that begins like a list but
says otherwise further on (a repeated "type" key: JSON leaves its meaning undefined) is taken for
a list.
So between the reader and the database at most one list waits per socket, and a read's cost no
longer grows with the number of changes that arrived while the previous read was being recorded.
The dropped frames are counted (Batch.superseded): the session counts them as received in SQL.

Long lists wait their turn. A list of LONG_LIST items or more costs many times a fill's trade and
status to record (1,000 items: ~15 ms in SQL, more in all), and a fill's frames must not wait behind it:
  * take() ends a batch before such a list: the frames before it are recorded (and committed) first;
  * a long list first in line, with no newer list behind it, is held for the frames of the next
    change: VALR sends them with a newer list, which drops this one unrecorded. So under a steady
    stream of fills a long list is recorded about once per LIST_HOLD_S, not once per fill;
  * once LIST_HOLD_S has passed since the oldest list it superseded, a long list is recorded as
    soon as it is first in line — right after its own change's frames were recorded, when the next
    change is furthest away. A hold that runs out while the list waits does not record it then
    (the next change's frames may be a moment away, and would wait behind it): it waits on for the
    newer list, up to LIST_HOLD_S from its own arrival. With 1,000 open orders and a fill every
    100 ms, recording the held list at whatever moment its hold ran out put one fill in five
    seconds behind it (figure 7's p99: 6.9× the one-open-order figure).
  So a list's word is recorded, or superseded by a newer one, at most 2 × LIST_HOLD_S after it
  arrived (LIST_HOLD_S after its own arrival when the stream pauses); the order of frames is kept.
  What waits is only the confirmation that orders are still open, and the `missing` check of orders
  the list lacks (a REST look-up follows it anyway).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from worker.valr.errors import ConnectionLost
from worker.valr.events import AccountEvent

OPEN_ORDERS = "OPEN_ORDERS_UPDATE"
LONG_LIST = 100              # items: an open-orders list this long is recorded apart, and may wait
LONG_LIST_BYTES = 32 * 1024  # the same for a list not parsed yet (an item is ~300 bytes)
LIST_HOLD_S = 1.0            # the longest a long list waits for the next change's newer list

Parse = Callable[[str | bytes, float], AccountEvent | None]


class Batch(list):
    """Frames taken together, in the order received (a list of AccountEvent), and `superseded`: how
    many older open-orders lists received among them were dropped; `dropped_before` says where: {index
    of the frame received right after them (len(batch): after the last): how many}."""

    superseded: int = 0

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.dropped_before: dict[int, int] = {}


@dataclass(eq=False)
class _Waiting:
    event: AccountEvent | None      # None: an open-orders list as received (text), parsed when taken
    text: str | bytes | None = None
    received_at: float = 0.0
    superseded_before: int = 0      # lists dropped that were received just before this frame
    queued_at: float = field(default_factory=time.monotonic)

    @property
    def is_list(self) -> bool:
        return self.event is None or self.event.type == OPEN_ORDERS

    @property
    def is_long_list(self) -> bool:
        if self.event is None:
            return len(self.text or b"") >= LONG_LIST_BYTES
        return self.event.type == OPEN_ORDERS and len(self.event.data) >= LONG_LIST


class FrameQueue:
    """`parse(text, received_at)` turns a list kept as received into its AccountEvent (None: skipped)."""

    def __init__(self, limit: int, parse: Parse) -> None:
        self.limit = limit
        self.superseded = 0  # every list dropped so far
        self._parse = parse
        self._waiting: deque[_Waiting] = deque()
        self._list: _Waiting | None = None  # the newest open-orders list still waiting
        self._list_since = 0.0              # when the oldest list it superseded was received
        self._lost: ConnectionLost | None = None
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._waiting)

    async def put(self, event: AccountEvent) -> None:
        """Wait for room (the backpressure), then queue the frame; an open-orders list drops the one
        still waiting before it."""
        await self._put(_Waiting(event))

    async def put_list_text(self, text: str | bytes, received_at: float) -> None:
        """An open-orders list as received, parsed only if it is still the newest when taken."""
        await self._put(_Waiting(None, text, received_at))

    async def _put(self, entry: _Waiting) -> None:
        while len(self._waiting) >= self.limit and self._lost is None:
            self._room.clear()
            await self._room.wait()
        self._waiting.append(entry)
        if entry.is_list:
            if self._list is not None:
                self._drop(self._list)
            else:
                self._list_since = time.monotonic()
            self._list = entry
        self._ready.set()

    def _drop(self, entry: _Waiting) -> None:
        # Its place goes to the frame received right after it (there is one: the newer list), which
        # then stands for it in the count of frames received. Looked for from the newest end: the
        # list it drops came with the previous change, a few frames back, while up to `limit` frames
        # may wait before it under a burst (from the oldest: 30 µs a fill with 1,000 waiting, not 5).
        index = len(self._waiting) - 1 - next(i for i, e in enumerate(reversed(self._waiting)) if e is entry)
        del self._waiting[index]
        self._waiting[index].superseded_before += 1 + entry.superseded_before
        self.superseded += 1

    def end(self, lost: ConnectionLost) -> None:
        """No more frames: take() raises `lost` once those waiting are taken."""
        if self._lost is None:
            self._lost = lost
            self._ready.set()
            self._room.set()

    async def wait(self) -> None:
        """Until a frame waits; raises the ConnectionLost when the socket ended and none is left."""
        while not self._waiting:
            if self._lost is not None:
                raise self._lost
            self._ready.clear()
            await self._ready.wait()

    async def hold_long_list(self) -> None:
        """While the frame first in line is a long open-orders list with no newer list behind it,
        wait for the newer list that the next change brings: not at all once LIST_HOLD_S has passed
        since the oldest list it superseded, else up to LIST_HOLD_S from its own arrival (see the
        module's docstring)."""
        held = self._list
        if held is None or not held.is_long_list or time.monotonic() >= self._list_since + LIST_HOLD_S:
            return
        while self._waiting and self._waiting[0] is held and self._lost is None:
            left = held.queued_at + LIST_HOLD_S - time.monotonic()
            if left <= 0:
                return
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), left)
            except asyncio.TimeoutError:
                return

    def take(self, max_batch: int) -> Batch:
        """Up to max_batch of the waiting frames, oldest first; a long open-orders list only first
        (the frames before it are recorded without waiting for it)."""
        batch = Batch()
        while self._waiting and len(batch) < max_batch:
            if batch and self._waiting[0].is_long_list:
                break
            entry = self._waiting.popleft()
            if entry is self._list:
                self._list = None
            event = entry.event or self._parse(entry.text or b"", entry.received_at)
            batch.superseded += entry.superseded_before
            if entry.superseded_before:
                batch.dropped_before[len(batch)] = batch.dropped_before.get(len(batch), 0) + entry.superseded_before
            if event is not None:
                batch.append(event)
        self._room.set()
        return batch
