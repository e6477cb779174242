"""The limit → market fallback's time trigger: SQL says when this worker's next age fallback falls due
(next_fallback_due, in seconds, so the worker's clock never matters; 0 for an order accepted after its
price threshold was crossed); the timer (worker/daemon/timer.py) sleeps until then and calls
request_due_fallbacks, which requests the due cancels in SQL (age, and the price trigger judged over
every pair) and hands this worker's cancels over in the same transaction (hand_over_cancels); they are sent
at once (WatchContext.send_cancels_now), without a claim round trip or waiting for the runner's tick.
What to cancel, and what to place once VALR confirms, is decided in SQL (db/functions/45_fallback); the
pg_cron tick fires due fallbacks too, as a safety net.
"""

from __future__ import annotations

import logging

from worker.daemon.timer import DueTimer
from worker.logs import event

log = logging.getLogger("worker.fallback")


class FallbackTimer(DueTimer):
    name = "fallback"

    async def next_due(self) -> float | None:
        return await self.ctx.store.next_fallback_due()

    async def fire(self) -> bool:
        fired, handed_over = await self.ctx.store.request_due_fallbacks()
        if fired:  # the DELETEs first: logging can wait
            self.ctx.send_cancels_now(handed_over, claim_rest=len(handed_over) < len(fired))
        for row in fired:
            event(log, f"{row['trigger']} fallback due: cancel requested", order=row["exchange_order_id"],
                  pair=row["pair"])
        return bool(fired)


class MarketLookupTimer(DueTimer):
    """A submitted market order with no final word (its frames lost) is looked up a few seconds after
    VALR accepted it, not at the safety net's 10-minute tick: SQL marks it poll-due
    (mark_market_lookups_due, NOTIFY lth_pvr_poll) and the tick's poll path asks VALR."""
    name = "market lookup"

    async def next_due(self) -> float | None:
        return await self.ctx.store.next_market_lookup_due()

    async def fire(self) -> bool:
        marked = await self.ctx.store.mark_market_lookups_due()
        if marked:
            event(log, "market orders with no final word: looking them up", orders=len(marked))
            self.ctx.wake()
        return bool(marked)
