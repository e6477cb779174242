"""A timer SQL sets: it asks the database how many seconds until the next thing of its kind falls due
(a `next_*_due` function, in seconds, so the worker's clock never matters), sleeps until then — or
until poked (orders changed: something may fall due sooner) or RECHECK_S — and fires it. What falls
due, and what firing does, is decided in SQL; the subclass names the two calls.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg

from worker.daemon.context import WatchContext

log = logging.getLogger("worker.timer")

RECHECK_S = 5.0   # the next due time is asked again at least this often (leases change, too)
RETRY_S = 0.5     # due, yet nothing fired: ask again after this, not in a tight loop


class DueTimer:
    name = "timer"

    def __init__(self, ctx: WatchContext) -> None:
        self.ctx = ctx
        self.stopping = False
        self._poked = asyncio.Event()

    async def next_due(self) -> float | None:
        """Seconds until the next one falls due; None when none is pending."""
        raise NotImplementedError

    async def fire(self) -> bool:
        """Act on what is due; whether anything was."""
        raise NotImplementedError

    def poke(self) -> None:
        """Orders changed: the next due time may have too."""
        self._poked.set()

    def stop(self) -> None:
        self.stopping = True
        self._poked.set()

    async def run(self) -> None:
        while not self.stopping:
            try:
                due_in = await self.next_due()
                if due_in is not None and due_in <= 0:
                    if not await self.fire():
                        await self._sleep(RETRY_S)  # done elsewhere meanwhile (cron, another worker)
                    continue
                await self._sleep(RECHECK_S if due_in is None else min(due_in, RECHECK_S))
            except psycopg.Error as exc:  # the database is away: said once (DatabaseHealth), retried
                self.ctx.db.failed(f"{self.name} timer", exc)
                await self._sleep(RECHECK_S)

    async def _sleep(self, seconds: float) -> None:
        self._poked.clear()
        try:
            await asyncio.wait_for(self._poked.wait(), timeout=max(seconds, 0.0))
        except asyncio.TimeoutError:
            pass
