"""VALR's shapes of plain values, as its JSON prints them (numbers, times, ids), and its error answer.
A leaf: the book, the balances, the market, the ledger and the account history all use these, and none
imports another for them."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal


def now_iso() -> str:
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def num(value: Decimal) -> str:
    """VALR prints numbers as plain strings without trailing zeros: '0.0002', '1149500', '0'."""
    if value == 0:
        return "0"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def uuid7() -> str:
    """Time-ordered ids like VALR's (UUIDv7)."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 64) & 0x0FFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


class SimError(Exception):
    """A VALR error answer: status + {"code","message"}."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
