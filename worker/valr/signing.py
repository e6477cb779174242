"""VALR request signing: hex HMAC-SHA512 over timestamp + VERB + path(+query) + body + subaccountId."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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


# Lab only (tests, chaos): a file holding seconds to add to this process's clock — a clock step on one
# worker, changed while it runs. Unset in production.
CLOCK_OFFSET_FILE_ENV = "MONITOR_TEST_CLOCK_OFFSET_FILE"
_offset_file = os.environ.get(CLOCK_OFFSET_FILE_ENV)

# Within this much of the last timestamp, a repeat is nudged 1 ms on (two identical requests in one
# millisecond must not share a signature); beyond it the clock wins: VALR wants timestamps close to
# its own time, not monotonic ones, so a clock stepped back is followed at once.
SAME_MOMENT_MS = 1000


def wall_clock() -> float:
    """time.time(), plus the lab's clock offset when one is set."""
    if _offset_file is None:
        return time.time()
    try:
        return time.time() + float(Path(_offset_file).read_text().strip() or 0)
    except (OSError, ValueError):
        return time.time()


def next_timestamp_ms(now_ms: int, last_ms: int) -> int:
    """The clock's millisecond, or one past the last timestamp when the clock has not moved on from it
    (same moment): never a timestamp held ahead of a clock that stepped back."""
    if now_ms <= last_ms < now_ms + SAME_MOMENT_MS:
        return last_ms + 1
    return now_ms


_last_ms = 0
_last_ms_lock = threading.Lock()


def unique_timestamp_ms() -> int:
    """Now in ms, unique within the process for requests signed at the same moment, so two identical
    requests (e.g. two socket handshakes for one subaccount) never share a signature."""
    global _last_ms
    with _last_ms_lock:
        _last_ms = next_timestamp_ms(int(wall_clock() * 1000), _last_ms)
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
