"""VALR's shapes of plain values, as its JSON prints them: numbers and times. A leaf: the book, the
balances, the market and the account history all print with these, and none imports another for them."""

from __future__ import annotations

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
