"""Account WebSocket frames → AccountEvent. Numbers stay strings in `data` (VALR's JSON as received)
and any bare JSON number is parsed as Decimal, never float. A frame's object keeps the text it was
parsed from (`ReceivedFrame.text`) when PostgreSQL's jsonb reads that text as the same value: the
recording call sends it as received instead of encoding the parsed object again."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# The account events the worker records (record_batch decides what each means): the orders' and the
# account ledger's (transactions, balances, crypto deposits still confirming).
ORDER_EVENTS = frozenset({
    "ORDER_STATUS_UPDATE", "NEW_ACCOUNT_TRADE", "ORDER_PROCESSED", "OPEN_ORDERS_UPDATE",
    "BALANCE_UPDATE", "FAILED_CANCEL_ORDER", "NEW_ACCOUNT_HISTORY_RECORD", "NEW_PENDING_RECEIVE",
})
# Of those, the account ledger's (SQL's lth_pvr.ledger_frame_types(), checked equal by a test): a read's
# order frames that come before them are committed first (worker/daemon/session.py, commits_of).
LEDGER_EVENTS = frozenset({"NEW_ACCOUNT_HISTORY_RECORD", "BALANCE_UPDATE", "NEW_PENDING_RECEIVE"})
CONTROL_FRAMES = frozenset({"AUTHENTICATED", "PONG", "SUBSCRIBED", "UNSUPPORTED"})
# Every other event VALR documents on the account socket (WebSocket API → Account: the Read events
# and the answers to the Write requests, which this worker never sends): known, not needed, ignored
# with a DEBUG line and a count.
IGNORED_EVENTS = frozenset({
    "INSTANT_ORDER_COMPLETED", "OPEN_POSITION_UPDATE", "POSITION_UPDATE",
    "REDUCE_POSITION", "POSITION_CLOSED", "ADD_CONDITIONAL_ORDER", "REMOVE_CONDITIONAL_ORDER",
    "MODIFY_ORDER_OUTCOME", "SEND_STATUS_UPDATE", "MARGIN_INFO", "LEVERAGE_UPDATED",
    "PLACE_LIMIT_WS_RESPONSE", "PLACE_MARKET_WS_RESPONSE", "MODIFY_ORDER_WS_RESPONSE",
    "CANCEL_ORDER_WS_RESPONSE", "BATCH_ORDERS_WS_RESPONSE", "RATE_LIMIT_EXCEEDED", "CANCEL_ON_DISCONNECT_UPDATE",
})


@dataclass(frozen=True)
class AccountEvent:
    type: str
    data: Any
    raw: dict = field(repr=False)
    received_at: float

    @property
    def is_order_event(self) -> bool:
        return self.type in ORDER_EVENTS

    @property
    def order_id(self) -> str | None:
        return self.data.get("orderId") if isinstance(self.data, dict) else None


# How VALR (and the simulator) begin an open-orders list: told apart before parsing (framequeue.py).
OPEN_ORDERS_START = re.compile(rb'\s*\{\s*"type"\s*:\s*"OPEN_ORDERS_UPDATE"')


def is_open_orders_text(text: str | bytes) -> bool:
    """Whether a frame begins as an OPEN_ORDERS_UPDATE, judged on its first bytes only."""
    head = text[:64].encode("utf-8", "replace") if isinstance(text, str) else text[:64]
    return OPEN_ORDERS_START.match(head) is not None


class ReceivedFrame(dict):
    """A frame's JSON object and `text`, the frame as received, when jsonb reads it as the same value
    as the object's encoding (None otherwise: the object is encoded, Store's `dumps`). The worker only
    reads frames: a frame changed after parsing would no longer match its text."""

    __slots__ = ("text",)


class _Reading(threading.local):
    as_received = True  # False once the frame being parsed held a literal Python reads otherwise than jsonb


_reading = _Reading()


def _decimal(literal: str) -> Decimal:
    # A bare number with a fraction or exponent: encoded again as VALR's string (Store's `dumps`), as
    # always; as received it would reach SQL as a JSON number.
    _reading.as_received = False
    return Decimal(literal)


def _constant(literal: str) -> str:
    # NaN/Infinity are not JSON: kept as the strings they are, SQL refuses them as numbers.
    _reading.as_received = False
    return literal


# One decoder for every frame: json.loads with parse_float builds a decoder (and its scanner) per call,
# ~2.3 µs of a frame's ~7.5.
_DECODER = json.JSONDecoder(parse_float=_decimal, parse_constant=_constant)


# A frame keeps its text when jsonb reads it as the value the frame's object encodes to: a text frame
# (bytes may be UTF-16 or -32) with no bare fraction, exponent or NaN/Infinity (read as Decimal or kept
# as a string, above) and no \\u escape (\\u0000 and a lone surrogate, which jsonb refuses: `dumps`
# mends the first, as it always did). Strings, integers, booleans, null, objects and arrays read the same.
def load_frame(text: str | bytes) -> dict | None:
    """A frame's JSON object with a string `type` (a ReceivedFrame), or None. Bare numbers become
    Decimal, never float."""
    _reading.as_received = True
    try:
        raw = _DECODER.decode(text) if isinstance(text, str) else json.loads(
            text, parse_float=_decimal, parse_constant=_constant)
    except (ValueError, TypeError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        return None
    frame = ReceivedFrame(raw)  # dict's own copy: a Python __init__ cost more than the copy
    frame.text = text if _reading.as_received and isinstance(text, str) and "\\u" not in text else None
    return frame


def parse_frame(text: str | bytes, received_at: float | None = None) -> AccountEvent | None:
    """One frame → AccountEvent, or None (malformed) when it is not JSON, has no string `type`, or is
    an order event without a `data` of the expected shape. Every other typed frame parses — control
    frames, the events VALR documents that the worker ignores, and types newer than this code — and the
    socket decides what to do with it."""
    raw = load_frame(text)
    if raw is None:
        return None
    kind = raw["type"]
    data = raw.get("data")
    if kind in ORDER_EVENTS:
        expected = list if kind == "OPEN_ORDERS_UPDATE" else dict
        if not isinstance(data, expected):
            return None
    return AccountEvent(kind, data, raw, time.time() if received_at is None else received_at)
