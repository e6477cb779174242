"""The client's error types. Two families that must never be confused:

* ValrError — VALR answered, and said no (its `{"code","message"}` body). OrderNotFound is VALR's
  positive word that it does not know the order.
* TransportError — we could not ask (timeout, refused or dropped connection, 5xx). It says nothing
  about the order; the worker must not treat it as "not found".
"""

from __future__ import annotations


class ValrError(Exception):
    """VALR refused a request with an error body (or a 4xx without one)."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"VALR {status}" + ("" if code is None else f" code={code}") + f": {message}")
        self.status = status
        self.code = code
        self.message = message


class OrderNotFound(ValrError):
    """VALR does not know this order (`400 {"code":-1,"message":"Invalid Order. "}` or a 404)."""


class DuplicateCustomerOrderId(ValrError):
    """The customerOrderId is already used by an open order of this (sub)account."""


# VALR's error codes (the `code` of its `{"code","message"}` body) that change what the client does.
# From VALR's published examples unless marked: -1 "Invalid Order. " (an order lookup or cancel naming an
# order VALR does not know); -11502 "Duplicate customer order id's are not allowed" (captured from
# VALR's live API, not in its published documentation).
ORDER_NOT_FOUND_CODE = -1
DUPLICATE_CUSTOMER_ORDER_ID_CODE = -11502


class AuthenticationError(ValrError):
    """401/403: bad key, bad signature, stale timestamp, or a refused WebSocket handshake."""


class RateLimited(Exception):
    """429 and waiting was not allowed, or retries were exhausted; also a 429 refusing the account
    WebSocket's upgrade (VALR's 60 new connections a minute): the key is fine, wait and retry."""

    def __init__(self, endpoint: str, retry_after: float | None = None) -> None:
        super().__init__(f"rate limited on {endpoint}" + (f" (retry after {retry_after:.1f}s)" if retry_after else ""))
        self.endpoint = endpoint
        self.retry_after = retry_after


class TransportError(Exception):
    """Could not get an answer: timeout, connection refused or dropped, or a 5xx. Not a ValrError."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PlacementAnswerLost(TransportError):
    """An order POST was sent but no answer came back. VALR may have accepted it: resolve by looking up
    the customerOrderId, never by sending it again."""


class ClockSkewError(Exception):
    """Local clock differs from VALR's by more than allowed: every signed request would be refused."""


class PrecisionError(ValueError):
    """Quantity or price is finer than the pair allows (VALR would silently truncate it)."""


class ConnectionLost(Exception):
    """The account WebSocket closed, or stopped answering PING."""

    def __init__(self, message: str, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
