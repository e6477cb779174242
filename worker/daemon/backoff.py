"""Waiting between retries: exponential backoff with full jitter, and a pause that a shutdown ends."""

from __future__ import annotations

import asyncio
import random


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter (attempt 1 → up to `base` s, doubling, capped)."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


async def pause(seconds: float, interrupt: asyncio.Event) -> bool:
    """Sleep `seconds`, or less if `interrupt` is set meanwhile (a shutdown): True when it was.
    (asyncio.wait, not wait_for: Python 3.11's wait_for can swallow a cancellation that arrives as the
    event is set.)"""
    if interrupt.is_set():
        return True
    waiter = asyncio.ensure_future(interrupt.wait())
    try:
        await asyncio.wait({waiter}, timeout=max(0.0, seconds))
    finally:
        waiter.cancel()
    return interrupt.is_set()
