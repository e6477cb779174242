"""Verifies VALR request signatures like VALR: known key, fresh timestamp, correct HMAC, no replay."""

from __future__ import annotations

import hmac
import threading
import time

from worker.valr.signing import API_KEY_HEADER, SIGNATURE_HEADER, SUBACCOUNT_HEADER, TIMESTAMP_HEADER, sign_request


class AuthRefused(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Verifier:
    def __init__(self, api_key: str, api_secret: str, window_ms: int) -> None:
        self._key = api_key
        self._secret = api_secret
        self.window_ms = window_ms
        self._seen: dict[str, float] = {}  # signature → expiry (monotonic)
        self._lock = threading.Lock()
        self.revoked = False  # the key was deleted: refused like an unknown one

    def __repr__(self) -> str:
        return f"Verifier(api_key={self._key[:6]!r}…, window_ms={self.window_ms})"

    def verify(self, headers, method: str, raw_path: str, body: str) -> str:
        """Returns the subaccount id ("" = primary) the request acts for, or raises AuthRefused."""
        key = headers.get(API_KEY_HEADER)
        if not key:
            raise AuthRefused(403, -1, "API key is required")
        if self.revoked or not hmac.compare_digest(key, self._key):
            raise AuthRefused(401, -1, "Invalid API key")
        stamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not stamp.isdigit() or not signature:
            raise AuthRefused(401, -1, "Missing or invalid request timestamp or signature")
        if abs(time.time() * 1000 - int(stamp)) > self.window_ms:
            raise AuthRefused(401, -1, "Request has expired: timestamp outside the allowed window")
        subaccount = headers.get(SUBACCOUNT_HEADER, "") or ""
        expected = sign_request(self._secret, stamp, method, raw_path, body, subaccount)
        if not hmac.compare_digest(expected, signature.lower()):
            raise AuthRefused(401, -1, "Request has an invalid signature")
        self._remember(signature)
        return subaccount

    def _remember(self, signature: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                for sig, expiry in list(self._seen.items()):
                    if expiry < now:
                        del self._seen[sig]
            expiry = self._seen.get(signature)
            if expiry is not None and expiry >= now:
                raise AuthRefused(401, -1, "Request has already been processed (replayed signature)")
            self._seen[signature] = now + 2 * self.window_ms / 1000
