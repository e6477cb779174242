"""Coinbase's request signing, checked as documented (Coinbase App "API Key Authentication", the legacy
HMAC key that ccxt uses for a plain `secret` string):

  CB-ACCESS-KEY        the key
  CB-ACCESS-TIMESTAMP  seconds since the epoch; more than 30 s from the server's clock: refused
  CB-ACCESS-SIGN       hex HMAC-SHA256, keyed by the secret, of timestamp + METHOD + requestPath + body;
                       requestPath keeps the query string on /v2 paths and drops it on /api/v3 paths (ccxt signs
                       exactly so; Advanced Trade's GET needs no query in the signature)

The WebSocket subscribe message carries `api_key`, `timestamp` and `signature` = hex HMAC-SHA256 of
timestamp + channel + ",".join(product_ids) (Advanced Trade WebSocket "Sign with legacy keys").

A refusal is a `Refusal(reason)`; the REST layer answers it in the path's shape (v3: 401 text
"Unauthorized"; v2: 401 {"errors": [{"id": "authentication_error", ...}]}).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

WINDOW_SECONDS = 30


class Refusal(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "invalid api key" | "invalid signature" | "request timestamp expired" | ...


def _sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _fresh(timestamp: str, now: float | None) -> None:
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        raise Refusal("invalid timestamp") from None
    if abs((now if now is not None else time.time()) - stamp) > WINDOW_SECONDS:
        raise Refusal("request timestamp expired")


def check_rest(keys: Mapping[str, str], headers: Mapping[str, str], method: str, path: str, query: str,
               body: str, now: float | None = None) -> str:
    """The api key a signed REST request proves, else `Refusal`."""
    key = headers.get("CB-ACCESS-KEY")
    if not key:
        raise Refusal("missing authentication headers")
    secret = keys.get(key)
    if secret is None:
        raise Refusal("invalid api key")
    _fresh(headers.get("CB-ACCESS-TIMESTAMP", ""), now)
    request_path = path + (f"?{query}" if query and not path.startswith("/api/v3/") else "")
    expected = _sign(secret, headers["CB-ACCESS-TIMESTAMP"] + method.upper() + request_path + body)
    if not hmac.compare_digest(expected, headers.get("CB-ACCESS-SIGN", "")):
        raise Refusal("invalid signature")
    return key


def check_ws(keys: Mapping[str, str], message: Mapping, now: float | None = None) -> str:
    """The api key a signed subscribe message proves, else `Refusal`."""
    key = message.get("api_key")
    secret = keys.get(key) if isinstance(key, str) else None
    if secret is None:
        raise Refusal("authentication failure")
    _fresh(str(message.get("timestamp", "")), now)
    products = message.get("product_ids") or []
    expected = _sign(secret, f"{message.get('timestamp')}{message.get('channel', '')}{','.join(products)}")
    if not hmac.compare_digest(expected, str(message.get("signature", ""))):
        raise Refusal("authentication failure")
    return key
