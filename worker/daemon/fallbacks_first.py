"""Fallbacks first: while a fallback's cancel waits for VALR's word, the work that can wait, waits.

A fallback's second leg is VALR's `Cancelled` → the recording call that inserts, claims and hands over
the market replacement → its POST (hand_over_replacements). A price trigger fires several at once, and
on a small machine their recording calls share the CPU with everything the round sets off: the first
replacements' placement answers, the ticks their NOTIFYs wake, the sessions' follow-ups (missing fills,
may the session close). Figure 8 measured it (docs/performance.md, History, ninth round): in the 60 ms
after a price jump PostgreSQL ran 76 ms of statements, of which a third was such work; a `Cancelled`'s
call took 9-10 ms at the median where alone it takes about 2.2.

So the runner says which fallbacks' cancels it sent (`started`, the originals SQL handed over as it
fired them), a session says which orders VALR's word finished (`settled`: the replacement, if any, is
on its way by then), and the work that can wait calls `after_fallbacks()` first: the runner's tick,
a session's follow-ups, recording a placement's answer. It waits until none of those fallbacks is
still waiting for its word, and never longer than HOLD_MAX_S after a cancel was sent (a `Cancelled`
that comes by a poll, a DELETE VALR refused, another worker's order: the hold simply ends) nor after it
began to wait (fallbacks firing one after another never starve the tick). Nothing is
decided here: what the work does, and when SQL lets it, is unchanged; only its turn moves, by
milliseconds. Placement of new orders (the NOTIFY's claim), the recording of frames, the price
watch and the cancels themselves never wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from uuid import UUID

# Long enough for VALR's `Cancelled` to follow its DELETE's answer (it is asynchronous) and the
# replacement to be recorded under a price round's load (figure 8: within ~50 ms of the jump); short
# enough that nothing held back is late by any measure the worker keeps (its tick runs every few s).
HOLD_MAX_S = 0.25


class FallbacksFirst:
    def __init__(self, hold_max_s: float = HOLD_MAX_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold_max_s = hold_max_s
        self.clock = clock
        self._waiting: dict[UUID, float] = {}  # an original whose cancel left: until when it holds work back
        self._changed = asyncio.Event()        # set whenever one settles, so waiters look again

    @property
    def waiting(self) -> int:
        """How many fallbacks still hold the work that can wait back."""
        self._expire()
        return len(self._waiting)

    def started(self, order_ids: Iterable[UUID]) -> None:
        """These fallbacks' cancels were sent: hold the work that can wait until VALR's word on each."""
        until = self.clock() + self.hold_max_s
        for order_id in order_ids:
            self._waiting[order_id] = until

    def settled(self, order_ids: Iterable[UUID]) -> None:
        """VALR's word finished these orders (a replacement handed over is on its way by now)."""
        popped = [self._waiting.pop(order_id, None) for order_id in order_ids]
        if any(until is not None for until in popped):
            self._changed.set()
            self._changed = asyncio.Event()

    async def after_fallbacks(self) -> None:
        """Return once no fallback this worker cancelled waits for VALR's word, and at most HOLD_MAX_S
        after the call: fallbacks that keep firing (a market falling through many orders' thresholds)
        delay the work that can wait, but never starve it."""
        give_up = self.clock() + self.hold_max_s
        while self._waiting:
            self._expire()
            if not self._waiting or self.clock() >= give_up:
                return
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(),
                                       timeout=min(min(self._waiting.values()), give_up) - self.clock())
            except asyncio.TimeoutError:
                pass

    def _expire(self) -> None:
        now = self.clock()
        for order_id in [i for i, until in self._waiting.items() if until <= now]:
            del self._waiting[order_id]
