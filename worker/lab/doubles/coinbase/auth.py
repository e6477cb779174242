"""Coinbase's request signing, checked as documented (Coinbase App "API Key Authentication", the legacy
HMAC key that ccxt uses for a plain `secret` string):

  CB-ACCESS-KEY        the key
  CB-ACCESS-TIMESTAMP  seconds since the epoch; more than 30 s from the server's clock: refused
  CB-ACCESS-SIGN       hex HMAC-SHA256, keyed by the secret, of timestamp + METHOD + requestPath + body;
                       requestPath keeps the query string on /v2 paths and drops it on /api/v3 paths (ccxt signs
                       exactly so; Advanced Trade's GET needs no query in the signature)

The WebSocket subscribe message carries `api_key`, `timestamp` and `signature` = hex HMAC-SHA256 of
timestamp + channel + ",".join(product_ids) (Advanced Trade WebSocket "Sign with legacy keys").

A CDP key (what Coinbase issues today; ccxt uses it when the key names `organizations/…` or the secret is a
PEM EC key, or a 64-byte base64 Ed25519 key) signs a JWT instead (Coinbase "API Key Authentication", JWT):
`Authorization: Bearer <jwt>` on REST, a `jwt` field in the subscribe message. Checked: ES256 (or EdDSA)
signature by the key named in `kid` and `sub`, `nbf` ≤ now ≤ `exp` (at most 120 s apart), and on REST the
`uri` (or `uris`) claim naming this method and path (the host is not compared: the double is not
api.coinbase.com).

A refusal is a `Refusal(reason)`; the REST layer answers it in the path's shape (v3: 401 text
"Unauthorized"; v2: 401 {"errors": [{"id": "authentication_error", ...}]}).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_private_key

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
    bearer = headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        return check_jwt(keys, bearer[len("Bearer "):], f"{method.upper()} {path}", now)
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
    """The api key a signed subscribe message proves, else `Refusal("authentication failure")`: the socket
    says no more than that, whatever was wrong."""
    try:
        return _ws_key(keys, message, now)
    except Refusal:
        raise Refusal("authentication failure") from None


def _ws_key(keys: Mapping[str, str], message: Mapping, now: float | None) -> str:
    if "jwt" in message:
        return check_jwt(keys, str(message["jwt"]), None, now)
    key = message.get("api_key")
    secret = keys.get(key) if isinstance(key, str) else None
    if secret is None:
        raise Refusal("invalid api key")
    _fresh(str(message.get("timestamp", "")), now)
    products = message.get("product_ids") or []
    expected = _sign(secret, f"{message.get('timestamp')}{message.get('channel', '')}{','.join(products)}")
    if not hmac.compare_digest(expected, str(message.get("signature", ""))):
        raise Refusal("invalid signature")
    return key


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_jwt(keys: Mapping[str, str], token: str, request: str | None, now: float | None = None) -> str:
    """The key a CDP JWT proves; `request` is "METHOD /path" on REST (None on the WebSocket)."""
    try:
        head, body, signature = token.split(".")
        header, claims = json.loads(_b64(head)), json.loads(_b64(body))
    except ValueError:
        raise Refusal("malformed token") from None
    key = header.get("kid")
    secret = keys.get(key) if isinstance(key, str) else None
    if secret is None or claims.get("sub") != key:
        raise Refusal("invalid api key")
    _verify(header.get("alg"), secret, f"{head}.{body}".encode(), _b64(signature))
    clock = now if now is not None else time.time()
    nbf, exp = int(claims.get("nbf", 0)), int(claims.get("exp", 0))
    if not (nbf - 5 <= clock <= exp) or exp - nbf > 120:
        raise Refusal("token expired")
    if request is not None:
        uris = claims.get("uris") or [claims.get("uri", "")]
        if not any(_names(uri, request) for uri in uris):
            raise Refusal("token is for another request")
    return key


def _names(uri: str, request: str) -> bool:
    """"GET api.coinbase.com/api/v3/..." (ccxt leaves "http://" in it when pointed at a plain-http origin)."""
    method, _, target = uri.partition(" ")
    target = target.removeprefix("http://").removeprefix("https://")
    wanted_method, _, path = request.partition(" ")
    return method == wanted_method and target[target.find("/"):] == path


def _verify(alg: str | None, secret: str, signed: bytes, signature: bytes) -> None:
    try:
        if alg == "ES256" and secret.startswith("-----BEGIN"):
            public = load_pem_private_key(secret.encode(), None).public_key()
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            public.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
        elif alg == "EdDSA":
            seed = base64.b64decode(secret)[:32]
            Ed25519PrivateKey.from_private_bytes(seed).public_key().verify(signature, signed)
        else:
            raise Refusal("unsupported token")
    except (InvalidSignature, ValueError):
        raise Refusal("invalid signature") from None
