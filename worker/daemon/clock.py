"""Is this worker's clock good enough for VALR to accept its signatures?

Checked at start, and again whenever VALR refuses a signed request (a placement, a socket handshake):
a refused timestamp must not fail orders. While the clock is off, the worker places nothing (orders
stay pending, a request already claimed waits and is retried), re-checks every tick, and the database
records the skew (record_clock_check → the `clock_skew` alert names the cause).
"""

from __future__ import annotations

import asyncio
import logging
import time

from worker.db.store import Store
from worker.logs import event
from worker.valr import ClockSkewError, RateLimited, TransportError, ValrClient

log = logging.getLogger("worker.clock")

RECHECK_EVERY_S = 2.0  # VALR's public time endpoint is cheap, but refusals come in bursts


class ClockWatch:
    def __init__(self, client: ValrClient, store: Store, max_skew_s: float, wake: asyncio.Event) -> None:
        self.client = client
        self.wake = wake  # the runner's: pending orders are claimed as soon as the clock is good
        self.store = store
        self.max_skew_s = max_skew_s
        self.ok = asyncio.Event()
        self.ok.set()
        self._lock = asyncio.Lock()
        self._checked_at = float("-inf")

    async def refused(self) -> bool:
        """VALR refused a signed request: re-check its clock. True when the clock is (or may be) the
        cause — the caller waits for `ok` and tries again; False when the clock is fine."""
        await self.check(force=True)
        return not self.ok.is_set()

    async def check(self, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._checked_at < RECHECK_EVERY_S:
                return
            if force and time.monotonic() - self._checked_at < 0.2:
                return  # a burst of refusals: one check answers them all
            self._checked_at = time.monotonic()
            try:
                skew = await self.client.check_clock(self.max_skew_s)
            except ClockSkewError as exc:
                await self._record(getattr(exc, "skew", None), refused=True)
                if self.ok.is_set():
                    event(log, "clock skew: VALR refuses our timestamps; placing stopped", logging.ERROR,
                          error=str(exc)[:300])
                self.ok.clear()
                return
            except (TransportError, RateLimited) as exc:
                event(log, "cannot read VALR's clock", logging.WARNING, error=str(exc)[:200])
                return
            await self._record(skew, refused=False)
            if not self.ok.is_set():
                event(log, "clock good again; placing resumes", clock_skew_s=round(skew, 3))
                self.ok.set()
                self.wake.set()

    async def wait_ok(self) -> None:
        """Until a check finds the clock good (re-checked every few seconds meanwhile)."""
        while not self.ok.is_set():
            try:
                await asyncio.wait_for(self.ok.wait(), RECHECK_EVERY_S)
            except asyncio.TimeoutError:
                await self.check()

    async def _record(self, skew: float | None, refused: bool) -> None:
        await self.store.record_clock_check(skew, refused)
