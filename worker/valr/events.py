"""Account WebSocket frames → AccountEvent. Numbers stay strings in `data` (VALR's JSON as received)
and any bare JSON number is parsed as Decimal, never float."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# The account events the worker consumes. Others VALR may send are known but not needed; frames of
# any other type are treated as unknown (logged and skipped by the socket).
ORDER_EVENTS = frozenset({
    "ORDER_STATUS_UPDATE", "NEW_ACCOUNT_TRADE", "ORDER_PROCESSED", "OPEN_ORDERS_UPDATE",
    "BALANCE_UPDATE", "FAILED_CANCEL_ORDER",
})
CONTROL_FRAMES = frozenset({"AUTHENTICATED", "PONG", "SUBSCRIBED", "UNSUPPORTED"})


@dataclass(frozen=True)
class AccountEvent:
    type: str
    data: Any
    raw: dict = field(repr=False)
    received_at: float

    @property
    def order_id(self) -> str | None:
        return self.data.get("orderId") if isinstance(self.data, dict) else None


def load_frame(text: str | bytes) -> dict | None:
    """A frame's JSON object with a string `type`, or None. Bare numbers become Decimal, never float."""
    try:
        # NaN/Infinity are not JSON: kept as the strings they are, SQL refuses them as numbers.
        raw = json.loads(text, parse_float=Decimal, parse_constant=str)
    except (ValueError, TypeError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        return None
    return raw


def parse_frame(text: str | bytes, received_at: float | None = None) -> AccountEvent | None:
    """One frame → AccountEvent, or None when it is not JSON, has no string `type`, or (for the
    order events) lacks a `data` of the expected shape. Control frames (AUTHENTICATED, PONG) parse too."""
    raw = load_frame(text)
    if raw is None:
        return None
    kind = raw["type"]
    data = raw.get("data")
    if kind in ORDER_EVENTS:
        expected = list if kind == "OPEN_ORDERS_UPDATE" else dict
        if not isinstance(data, expected):
            return None
    elif kind not in CONTROL_FRAMES:
        return None
    return AccountEvent(kind, data, raw, time.time() if received_at is None else received_at)
