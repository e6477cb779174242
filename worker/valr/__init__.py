"""VALR client: request signing, async REST (httpx) and the account WebSocket (websockets ≥ 14)."""

from worker.valr.errors import (
    AuthenticationError, ClockSkewError, ConnectionLost, DuplicateCustomerOrderId, OrderNotFound,
    PlacementAnswerLost, PrecisionError, RateLimited, TransportError, ValrError,
)
from worker.valr.events import AccountEvent, parse_frame
from worker.valr.pairs import PairRule, PairTable
from worker.valr.rest import DEFAULT_BASE_URL, PlacedOrder, PlacementNotSent, ValrClient
from worker.valr.signing import Credentials, auth_headers, sign_request
from worker.valr.ws import AccountSocket, ws_url

__all__ = [
    "sign_request", "auth_headers", "Credentials", "ValrClient", "PlacedOrder", "PlacementNotSent", "AccountSocket", "ws_url",
    "AccountEvent", "parse_frame", "PairTable", "PairRule", "DEFAULT_BASE_URL",
    "ValrError", "OrderNotFound", "DuplicateCustomerOrderId", "AuthenticationError", "RateLimited",
    "TransportError", "PlacementAnswerLost", "ClockSkewError", "PrecisionError", "ConnectionLost",
]
