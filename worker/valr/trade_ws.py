"""VALR's trade WebSocket (`/ws/trade`): market data for the pairs subscribed to. Signed like the
account socket; nothing arrives until a SUBSCRIBE names the pairs, and each SUBSCRIBE replaces the
event's pairs (an empty list unsubscribes). Only MARKET_SUMMARY_UPDATE (best bid/ask, last traded
price) is used: VALR sends the latest on subscription and again on every change."""

from __future__ import annotations

import json
import time
from typing import Iterable

from worker.valr.events import CONTROL_FRAMES, AccountEvent, load_frame
from worker.valr.ws import AccountSocket

TRADE_PATH = "/ws/trade"
MARKET_SUMMARY = "MARKET_SUMMARY_UPDATE"


def parse_trade_frame(text: str | bytes, received_at: float | None = None) -> AccountEvent | None:
    """A MARKET_SUMMARY_UPDATE (data an object) or a control frame; None for anything else."""
    raw = load_frame(text)
    if raw is None:
        return None
    kind = raw["type"]
    if kind == MARKET_SUMMARY and not isinstance(raw.get("data"), dict):
        return None
    if kind != MARKET_SUMMARY and kind not in CONTROL_FRAMES:
        return None
    return AccountEvent(kind, raw.get("data"), raw, time.time() if received_at is None else received_at)


class TradeSocket(AccountSocket):
    """`async with TradeSocket(base, creds) as sock: await sock.subscribe(["BTCZAR"]); async for batch in
    sock.batches(): …` — batches of MARKET_SUMMARY_UPDATE events; ConnectionLost when it drops."""

    PATH = TRADE_PATH
    NAME = "trade"
    AWAITS_AUTHENTICATED = False  # the docs promise no AUTHENTICATED frame here: data starts on SUBSCRIBE
    QUEUED_EVENTS = frozenset({MARKET_SUMMARY})
    SUBSCRIBE_ON_CONNECT = None   # subscribe(pairs) names the pairs

    def __init__(self, base_url: str, credentials, **kwargs) -> None:
        super().__init__(base_url, credentials, "", **kwargs)
        self.pairs: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"TradeSocket({self.url!r}, pairs={list(self.pairs)})"

    def _parse(self, message: str | bytes) -> AccountEvent | None:
        return parse_trade_frame(message)

    async def subscribe(self, pairs: Iterable[str]) -> None:
        """MARKET_SUMMARY_UPDATE for exactly these pairs (replaces the previous set; empty = none)."""
        self.pairs = tuple(sorted({p.upper() for p in pairs}))
        if self._ws is not None:
            await self._ws.send(json.dumps({"type": "SUBSCRIBE", "subscriptions": [
                {"event": MARKET_SUMMARY, "pairs": list(self.pairs)}]}))


__all__ = ["TradeSocket", "parse_trade_frame", "TRADE_PATH", "MARKET_SUMMARY"]
