"""Binance's request checks, as its spot API documents them ("Endpoint security type", "SIGNED endpoint
security", "Timing security", "LIMITS"): the key in `X-MBX-APIKEY`, an HMAC-SHA256 hex signature of the
query string followed by the body (the `signature` parameter left out), `timestamp` within `recvWindow`
(default 5000 ms, at most 60000) and at most 1000 ms ahead; request weight per minute and orders per 10 s,
answered HTTP 429 with `Retry-After` (418 for a ban). Each refusal raises `BinanceError` in Binance's shape."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
from urllib.parse import parse_qsl

from worker.lab.doubles.core import now_ms


class BinanceError(Exception):
    """An answer in Binance's error shape: HTTP `status`, body `{"code": code, "msg": msg}`."""

    def __init__(self, status: int, code: int, msg: str, headers: dict | None = None) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}

    def body(self) -> dict:
        return {"code": self.code, "msg": self.msg}


BAD_KEY_FORMAT = (401, -2014, "API-key format invalid.")
BAD_KEY = (401, -2015, "Invalid API-key, IP, or permissions for action.")
BAD_SIGNATURE = (400, -1022, "Signature for this request is not valid.")
AHEAD = (400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
OUTSIDE_WINDOW = (400, -1021, "Timestamp for this request is outside of the recvWindow.")
BAD_WINDOW = (400, -1131, "recvWindow must be less than 60000")
NO_TIMESTAMP = (400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")


def strip_signature(raw: str) -> tuple[str, str | None]:
    """`raw` without its `signature=` pair (order kept), and the signature."""
    kept, signature = [], None
    for pair in raw.split("&") if raw else []:
        if pair.startswith("signature="):
            signature = pair[len("signature="):]
        else:
            kept.append(pair)
    return "&".join(kept), signature


def expected_signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_key(api_key: str | None, keys: dict[str, str]) -> str:
    """The secret of a known key; Binance's -2014 / -2015 otherwise."""
    if not api_key or len(api_key) > 256 or not api_key.isprintable():
        raise BinanceError(*BAD_KEY_FORMAT)
    if api_key not in keys:
        raise BinanceError(*BAD_KEY)
    return keys[api_key]


def check_timing(params: dict[str, str]) -> None:
    try:
        stamp = int(params["timestamp"])
    except (KeyError, ValueError):
        raise BinanceError(*NO_TIMESTAMP) from None
    try:
        window = float(params.get("recvWindow", 5000))  # up to three decimals: microseconds
    except ValueError:
        raise BinanceError(*BAD_WINDOW) from None
    if window > 60000 or window <= 0:
        raise BinanceError(*BAD_WINDOW)
    server = now_ms()
    if stamp > server + 1000:
        raise BinanceError(*AHEAD)
    if server - stamp > window:
        raise BinanceError(*OUTSIDE_WINDOW)


def check_signed(query: str, body: str, api_key: str | None, keys: dict[str, str]) -> dict[str, str]:
    """A SIGNED REST request's parameters (the query string's win over the body's), once its key,
    signature (HMAC-SHA256 hex of query + body, `signature` removed) and timing hold."""
    secret = check_key(api_key, keys)
    query_rest, in_query = strip_signature(query)
    body_rest, in_body = strip_signature(body)
    signature = in_query or in_body
    if not signature or not hmac.compare_digest(signature.lower(),
                                                expected_signature(secret, query_rest + body_rest)):
        raise BinanceError(*BAD_SIGNATURE)
    params = {**dict(parse_qsl(body_rest, keep_blank_values=True)),
              **dict(parse_qsl(query_rest, keep_blank_values=True))}
    check_timing(params)
    return params


def check_ws_signed(params: dict, keys: dict[str, str]) -> str:
    """A SIGNED WebSocket API request (its params sorted by name, `key=value&...`, `signature` left out);
    returns the api key."""
    api_key = params.get("apiKey")
    secret = check_key(api_key, keys)
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
    if not hmac.compare_digest(str(params.get("signature", "")).lower(), expected_signature(secret, payload)):
        raise BinanceError(*BAD_SIGNATURE)
    check_timing({k: str(v) for k, v in params.items()})
    return api_key


class Limits:
    """Binance's spot limits, counted as it counts them: request weight per IP per minute, new orders per
    account per 10 seconds. Over either, HTTP 429 and `Retry-After`."""

    def __init__(self, weight_per_minute: int = 6000, orders_per_10s: int = 100) -> None:
        self.weight_per_minute, self.orders_per_10s = weight_per_minute, orders_per_10s
        self._weights: deque[tuple[float, int]] = deque()
        self._orders: dict[str, deque[float]] = {}

    def rate_limits(self) -> list[dict]:
        """exchangeInfo's `rateLimits`."""
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.weight_per_minute},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": self.orders_per_10s},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}]

    def used_weight(self) -> int:
        cutoff = time.monotonic() - 60
        while self._weights and self._weights[0][0] < cutoff:
            self._weights.popleft()
        return sum(w for _, w in self._weights)

    def spend(self, weight: int) -> int:
        """Count a request's weight; 429 -1003 when the minute's limit is passed. Returns the used weight."""
        used = self.used_weight() + weight
        if used > self.weight_per_minute:
            retry = int(60 - (time.monotonic() - self._weights[0][0])) + 1 if self._weights else 60
            raise BinanceError(429, -1003, "Too much request weight used; current limit is "
                               f"{self.weight_per_minute} request weight per 1 MINUTE. Please use WebSocket "
                               "Streams for live updates to avoid polling the API.", {"Retry-After": str(retry)})
        self._weights.append((time.monotonic(), weight))
        return used

    def new_order(self, account: str) -> int:
        """Count a new order; 429 -1015 past the 10-second limit. Returns the orders counted in 10 s."""
        stamps = self._orders.setdefault(account, deque())
        cutoff = time.monotonic() - 10
        while stamps and stamps[0] < cutoff:
            stamps.popleft()
        if len(stamps) >= self.orders_per_10s:
            raise BinanceError(429, -1015, f"Too many new orders; current limit is {self.orders_per_10s} "
                               "orders per 10 SECOND.", {"Retry-After": "10"})
        stamps.append(time.monotonic())
        return len(stamps)
