"""Kraken's private REST checks, in the order Kraken applies them: the API-Key header names a key
(`EAPI:Invalid key`), API-Sign is HMAC-SHA512 over the URI path + SHA256(nonce + POST data) keyed with the
base64-decoded secret (`EAPI:Invalid signature`), the nonce is greater than the key's last accepted one
(`EAPI:Invalid nonce`), and the key's call counter has room (`EAPI:Rate limit exceeded`). Also the
WebSocket tokens GetWebSocketsToken hands out: usable within 15 minutes, then for as long as a private
subscription made with them stays open (docs.kraken.com: Get Websockets Token)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

TOKEN_SECONDS = 900


class KrakenError(Exception):
    """An answer in Kraken's words: `{"error": [word], "result": {}}` with HTTP 200."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def signature(secret_b64: str, path: str, nonce: str, body: str) -> str:
    digest = hashlib.sha256((nonce + body).encode()).digest()
    mac = hmac.new(base64.b64decode(secret_b64), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def parse_body(body: str, content_type: str) -> dict:
    if "json" in content_type:
        try:
            parsed = json.loads(body or "{}")
        except ValueError as exc:
            raise KrakenError("EGeneral:Invalid arguments") from exc
        return {k: v if isinstance(v, (str, list, dict)) else json.dumps(v) for k, v in parsed.items()}
    return dict(parse_qsl(body, keep_blank_values=True))


@dataclass
class Counter:
    """Kraken's per-key call counter: each call adds its cost, the counter decays over time, a call that
    would pass the ceiling is refused (kraken_double sets its ceiling and decay)."""

    ceiling: float = 1000.0
    decay_per_second: float = 100.0
    level: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def take(self, cost: float) -> bool:
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.at) * self.decay_per_second)
        self.at = now
        if self.level + cost > self.ceiling:
            return False
        self.level += cost
        return True


class Gate:
    """Every private REST request passes here first; a refusal raises `KrakenError`."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.last_nonce: dict[str, int] = {}
        self.counters: dict[str, Counter] = {}
        self.tokens: dict[str, tuple[str, float]] = {}   # token -> (api key, issued at)
        self.used_tokens: set[str] = set()

    def check(self, path: str, headers, body: str, params: dict, cost: float, ceiling: tuple[float, float]) -> str:
        key = headers.get("API-Key", "")
        if key not in self.keys:
            raise KrakenError("EAPI:Invalid key")
        nonce = str(params.get("nonce", ""))
        try:
            expected = signature(self.keys[key], path, nonce, body)
        except (binascii.Error, ValueError) as exc:
            raise KrakenError("EAPI:Invalid key") from exc
        if not hmac.compare_digest(expected, headers.get("API-Sign", "")):
            raise KrakenError("EAPI:Invalid signature")
        if not nonce.isdigit() or int(nonce) <= self.last_nonce.get(key, 0):
            raise KrakenError("EAPI:Invalid nonce")
        self.last_nonce[key] = int(nonce)
        counter = self.counters.setdefault(key, Counter(*ceiling))
        if cost and not counter.take(cost):
            raise KrakenError("EAPI:Rate limit exceeded")
        return key

    def new_token(self, key: str) -> str:
        token = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        self.tokens[token] = (key, time.time())
        return token

    def token_key(self, token: str) -> str | None:
        """The key a token was issued to, if it is still usable: within 15 minutes of issue, or already
        used by a private subscription (then it lasts as long as that subscription)."""
        issued = self.tokens.get(token)
        if issued is None:
            return None
        if token not in self.used_tokens and time.time() - issued[1] > TOKEN_SECONDS:
            return None
        self.used_tokens.add(token)
        return issued[0]
