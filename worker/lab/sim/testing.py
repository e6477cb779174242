"""Helpers for tests that run the VALR client against a Simulator on loopback, in one event loop."""

from __future__ import annotations

import asyncio
import json
from typing import Awaitable, Callable

from worker.lab.sim import SimConfig, Simulator
from worker.valr import AccountEvent, AccountSocket, Credentials, ValrClient
from worker.valr.signing import auth_headers

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


async def valr_call(http, method: str, path: str, subaccount_id: str = "", body: dict | None = None):
    """One signed REST request through an httpx.AsyncClient (base_url = the simulator): the response."""
    text = json.dumps(body) if body is not None else ""
    headers = auth_headers(CREDS, method, path, text, subaccount_id)
    if body is not None:
        headers["Content-Type"] = "application/json"
    return await http.request(method, path, content=text or None, headers=headers)


class RawAccountSocket:
    """An account socket read straight off the wire (every frame as JSON, nothing filtered)."""

    def __init__(self, base_url: str, subaccount_id: str = "") -> None:
        self.base_url, self.subaccount_id = base_url, subaccount_id
        self.frames: list[dict] = []

    async def __aenter__(self) -> "RawAccountSocket":
        from websockets.asyncio.client import connect
        from worker.valr.ws import ws_url
        headers = auth_headers(CREDS, "GET", "/ws/account", "", self.subaccount_id)
        self._ws = await connect(ws_url(self.base_url), additional_headers=headers).__aenter__()
        await self.until(lambda frames: frames[-1]["type"] == "OPEN_ORDERS_UPDATE")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ws.close()

    async def until(self, done: Callable[[list[dict]], bool], timeout: float = 3.0) -> list[dict]:
        """Read frames until `done(frames so far)` holds; returns them all."""
        async def read() -> None:
            while not (self.frames and done(self.frames)):
                self.frames.append(json.loads(await self._ws.recv()))
        await asyncio.wait_for(read(), timeout)
        return self.frames

    def of_type(self, kind: str) -> list[dict]:
        return [f["data"] for f in self.frames if f["type"] == kind]
