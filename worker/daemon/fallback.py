"""The limit → market fallback's time trigger: SQL says when this worker's next age fallback falls due
(next_fallback_due, in seconds, so the worker's clock never matters; 0 for an order accepted after its
price threshold was crossed); the timer sleeps until then — or until poked (orders changed: a newly
accepted order may fall due sooner) or RECHECK_S — and calls request_due_fallbacks, which requests the
due cancels in SQL (age, and the price trigger judged over every pair); they are sent at once
(Runner.send_cancels_now), without waiting for the runner's tick.
What to cancel, and what to place once VALR confirms, is decided in SQL (db/functions/45_fallback); the
pg_cron tick fires due fallbacks too, as a safety net.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import psycopg

from worker.logs import event

if TYPE_CHECKING:
    from worker.daemon.runner import Runner

log = logging.getLogger("worker.fallback")

RECHECK_S = 5.0   # the next due time is asked again at least this often (leases change, too)
RETRY_S = 0.5     # due, yet nothing fired: ask again after this, not in a tight loop


class FallbackTimer:
    def __init__(self, runner: "Runner") -> None:
        self.runner = runner
        self.stopping = False
        self._poked = asyncio.Event()

    def poke(self) -> None:
        """Orders changed: the next due time may have too."""
        self._poked.set()

    def stop(self) -> None:
        self.stopping = True
        self._poked.set()

    async def run(self) -> None:
        while not self.stopping:
            try:
                due_in = await self.runner.store.next_fallback_due()
                if due_in is not None and due_in <= 0:
                    if not await self._fire():
                        await self._sleep(RETRY_S)  # fired elsewhere meanwhile (cron, another worker)
                    continue
                await self._sleep(RECHECK_S if due_in is None else min(due_in, RECHECK_S))
            except psycopg.Error as exc:
                event(log, "fallback timer: database error; retrying", logging.WARNING, error=str(exc).strip()[:200])
                await self._sleep(RECHECK_S)

    async def _fire(self) -> bool:
        fired = await self.runner.store.request_due_fallbacks()
        for row in fired:
            event(log, f"{row['trigger']} fallback due: cancel requested", order=row["exchange_order_id"],
                  pair=row["pair"])
        if fired:
            self.runner.send_cancels_now()
        return bool(fired)

    async def _sleep(self, seconds: float) -> None:
        self._poked.clear()
        try:
            await asyncio.wait_for(self._poked.wait(), timeout=max(seconds, 0.0))
        except asyncio.TimeoutError:
            pass
