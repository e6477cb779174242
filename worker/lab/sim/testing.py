"""Helpers for tests that run the VALR client against a Simulator on loopback, in one event loop."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from worker.lab.sim import SimConfig, Simulator
from worker.valr import AccountEvent, AccountSocket, Credentials, ValrClient

KEY, SECRET = "test-key-0123456789", "test-secret-abcdefghijklmnopqrstuvwxyz"
CREDS = Credentials(KEY, SECRET)


def run_with_sim(body: Callable[[Simulator, ValrClient], Awaitable[None]], config: SimConfig | None = None,
                 **client_kwargs) -> None:
    async def main() -> None:
        sim = Simulator(KEY, SECRET, config=config)
        await sim.start()
        try:
            async with ValrClient(sim.base_url, CREDS, **client_kwargs) as client:
                await asyncio.wait_for(body(sim, client), 30)
        finally:
            await sim.stop()
    asyncio.run(main())


async def collect(sock: AccountSocket, until: Callable[[list[AccountEvent]], bool],
                  timeout: float = 3.0) -> list[AccountEvent]:
    """Read batches until `until(events so far)` holds."""
    events: list[AccountEvent] = []

    async def read() -> None:
        async for batch in sock.batches():
            events.extend(batch)
            if until(events):
                return
    await asyncio.wait_for(read(), timeout)
    return events


def of_type(events: list[AccountEvent], kind: str) -> list[AccountEvent]:
    return [e for e in events if e.type == kind]
