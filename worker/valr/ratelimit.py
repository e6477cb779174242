"""Client-side request budget and VALR's 429 wait.

VALR allows 1,200 requests/minute per IP and 2,000 per API key, counted per calendar minute. Several
workers on one host share the IP budget, so each process keeps itself under its own configurable budget
(default 1,000/minute) with a sliding window. The window is process-wide (one per budget size) and
thread-safe, so clients on different event loops of one process share it.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from email.utils import parsedate_to_datetime


class RequestBudget:
    """At most `per_minute` requests in any 60-second window."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        if per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.per_minute = per_minute
        self.window_s = window_s
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def _try_take(self) -> float:
        """Take a slot and return 0, or return how long to wait before trying again."""
        now = time.monotonic()
        with self._lock:
            while self._sent and self._sent[0] <= now - self.window_s:
                self._sent.popleft()
            if len(self._sent) < self.per_minute:
                self._sent.append(now)
                return 0.0
            return self._sent[0] + self.window_s - now

    async def acquire(self) -> None:
        while (wait := self._try_take()) > 0:
            await asyncio.sleep(wait)


_shared: dict[int, RequestBudget] = {}
_shared_lock = threading.Lock()


def shared_budget(per_minute: int) -> RequestBudget:
    """The process-wide budget of that size (every client built with the same number shares it)."""
    with _shared_lock:
        budget = _shared.get(per_minute)
        if budget is None:
            budget = _shared[per_minute] = RequestBudget(per_minute)
        return budget


def wait_after_429(retry_after: str | None, now: float | None = None) -> float:
    """Seconds to wait after a 429: Retry-After when VALR gives it, else until the next minute (when
    VALR's counter resets), plus jitter so several workers do not all come back at the same instant."""
    base: float | None = None
    if retry_after:
        try:
            base = max(0.0, float(retry_after))
        except ValueError:
            try:
                base = max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time())
            except (TypeError, ValueError):
                base = None
    if base is None:
        now = time.time() if now is None else now
        base = 60.0 - (now % 60.0)
        return base + random.uniform(0.05, 1.0)
    return base + random.uniform(0.0, min(1.0, 0.1 * base + 0.01))
