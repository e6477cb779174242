"""VALR request signing: hex HMAC-SHA512 over timestamp + VERB + path(+query) + body + subaccountId."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field

API_KEY_HEADER = "X-VALR-API-KEY"
SIGNATURE_HEADER = "X-VALR-SIGNATURE"
TIMESTAMP_HEADER = "X-VALR-TIMESTAMP"
SUBACCOUNT_HEADER = "X-VALR-SUB-ACCOUNT-ID"


def sign_request(api_secret: str, timestamp_ms: int | str, method: str, path: str,
                 body: str = "", subaccount_id: str = "") -> str:
    """The signature VALR expects; `path` includes the query string, `body` is the exact JSON text sent."""
    message = f"{timestamp_ms}{method.upper()}{path}{body or ''}{subaccount_id or ''}"
    return hmac.new(api_secret.encode(), message.encode(), hashlib.sha512).hexdigest()


@dataclass(frozen=True)
class Credentials:
    """An API key pair. The secret never appears in repr/str (so never in a log line or traceback)."""

    api_key: str
    api_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key[:6]!r}…, api_secret=<hidden>)"

    __str__ = __repr__


_last_ms = 0
_last_ms_lock = threading.Lock()


def unique_timestamp_ms() -> int:
    """Now in ms, strictly increasing within the process, so two identical requests (e.g. two socket
    handshakes for one subaccount) never share a signature and look like a replay."""
    global _last_ms
    with _last_ms_lock:
        _last_ms = max(int(time.time() * 1000), _last_ms + 1)
        return _last_ms


def auth_headers(credentials: Credentials, method: str, path: str, body: str = "",
                 subaccount_id: str = "", timestamp_ms: int | None = None) -> dict[str, str]:
    """The signed headers of one request (REST call or WebSocket upgrade)."""
    ts = unique_timestamp_ms() if timestamp_ms is None else timestamp_ms
    headers = {
        API_KEY_HEADER: credentials.api_key,
        SIGNATURE_HEADER: sign_request(credentials.api_secret, ts, method, path, body, subaccount_id),
        TIMESTAMP_HEADER: str(ts),
    }
    if subaccount_id:
        headers[SUBACCOUNT_HEADER] = subaccount_id
    return headers
