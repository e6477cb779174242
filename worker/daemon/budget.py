"""VALR allows 60 new account-WebSocket connections a minute: a sliding-window budget shared by
every session of the process."""

from __future__ import annotations

import asyncio
import time
from collections import deque


class ConnectionBudget:
    def __init__(self, per_minute: int = 60, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._opened: deque[float] = deque()
        self._lock = asyncio.Lock()

    def wait_time(self) -> float:
        """Seconds until one more connection fits in the window (0 when it fits now)."""
        now = time.monotonic()
        while self._opened and now - self._opened[0] >= self.window_s:
            self._opened.popleft()
        if len(self._opened) < self.per_minute:
            return 0.0
        return self.window_s - (now - self._opened[0])

    async def acquire(self) -> None:
        async with self._lock:
            while (delay := self.wait_time()) > 0:
                await asyncio.sleep(delay)
            self._opened.append(time.monotonic())
