"""Worker settings from flags and environment, validated once at start (one clear line on error)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlparse

from worker.valr import Credentials

DEFAULT_VALR_BASE_URL = "https://api.valr.com"
# The exchanges reached through ccxt: <EXCHANGE>_BASE_URL sends every REST and WebSocket URL of one to
# another origin (worker/exchanges/urls.py); unset (None), ccxt's own URLs: the real exchange.
CCXT_EXCHANGES = ("binance", "kraken", "coinbase")
# <EXCHANGE>_RATE_LIMIT_MS: ccxt's `rateLimit` for that exchange (ms per unit of ccxt's per-endpoint cost;
# Kraken's private calls cost 3, its history 6); unset (None), ccxt's own, which fits the exchange's
# strictest tier. Only for a key whose tier allows more (Kraken Pro: 333), and the lab's doubles.


class ConfigError(ValueError):
    """A missing or malformed setting; the message names it and the rule."""


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str = field(repr=False)  # may hold a password
    valr_base_url: str
    credentials: Credentials              # VALR's default key (VALR_API_KEY): empty when not set
    exchange_base_urls: dict[str, str | None] = field(default_factory=dict)  # ccxt exchange → origin (None: real)
    exchange_rate_limits: dict[str, float | None] = field(default_factory=dict)  # ccxt exchange → rateLimit ms
    env: dict[str, str] = field(default_factory=dict, repr=False)  # accounts' credentials are resolved from it
    max_session_s: float = 300.0          # 0 = persistent sessions (the spec's Phase 2)
    socket_wait_s: float = 10.0           # how long placement waits for an authenticated socket
    log_format: str = "text"
    worker_id: str = ""
    lease_ttl_s: int | None = None        # None: the lease_ttl_seconds setting, read at start
    catch_up_s: float = 30.0              # periodic "what is due?" even without a NOTIFY
    placement_lookup_after_s: int = 5     # a placing order this old is looked up by customerOrderId
    requests_per_minute: int = 1000
    ws_connects_per_minute: int | None = None  # None: the ws_connects_per_minute setting, read at start
    max_clock_skew_s: float = 30.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def build_settings(*, database_url: str | None, valr_base_url: str | None, max_session: float | None,
                   socket_wait: float, log_format: str, env: dict[str, str] | None = None,
                   **overrides) -> WorkerSettings:
    env = os.environ if env is None else env
    if not database_url:
        raise ConfigError("DATABASE_URL: required (pass --database-url or set DATABASE_URL)")
    if not database_url.startswith(("postgresql://", "postgres://")) and "=" not in database_url:
        raise ConfigError("DATABASE_URL: must be a postgresql:// URL or a libpq key=value string")
    base = _base_url("VALR_BASE_URL", valr_base_url or env.get("VALR_BASE_URL") or DEFAULT_VALR_BASE_URL,
                     DEFAULT_VALR_BASE_URL)
    others = {name: _base_url(f"{name.upper()}_BASE_URL", env.get(f"{name.upper()}_BASE_URL"), "http://127.0.0.1:8123")
              for name in CCXT_EXCHANGES}
    rate_limits = {name: rate_limit_ms(f"{name.upper()}_RATE_LIMIT_MS", env.get(f"{name.upper()}_RATE_LIMIT_MS"))
                   for name in CCXT_EXCHANGES}
    # VALR_API_KEY is required once the database says a VALR account uses it (Runner, after the
    # database check; worker/exchanges/credentials.py): a Binance-only database needs no VALR key.
    key, secret = env.get("VALR_API_KEY", ""), env.get("VALR_API_SECRET", "")
    if max_session is None:
        raw = env.get("VALR_MAX_SESSION_SECONDS", "300")
        try:
            max_session = float(raw)
        except ValueError:
            raise ConfigError(f"VALR_MAX_SESSION_SECONDS: must be a number of seconds, got {raw!r}") from None
    if max_session < 0:
        raise ConfigError("--max-session: must be >= 0 (0 = persistent)")
    if socket_wait < 0:
        raise ConfigError("--socket-wait: must be >= 0")
    if log_format not in ("text", "json"):
        raise ConfigError("--log-format: must be text or json")
    return WorkerSettings(
        database_url=database_url, valr_base_url=base.rstrip("/"),
        credentials=Credentials(api_key=key, api_secret=secret), exchange_base_urls=others,
        exchange_rate_limits=rate_limits, env=dict(env),
        max_session_s=max_session, socket_wait_s=socket_wait, log_format=log_format,
        worker_id=overrides.pop("worker_id", None) or default_worker_id(), **overrides,
    )


def _base_url(name: str, value: str | None, example: str) -> str | None:
    """An http(s) origin (its trailing / dropped), or None when unset; anything else refused by name."""
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name}: must be an http(s) URL like {example}, got {value!r}")
    return value.rstrip("/")


def rate_limit_ms(name: str, value: str | None) -> float | None:
    """<EXCHANGE>_RATE_LIMIT_MS's value: a positive number of milliseconds, or None when unset (ccxt's
    own). The worker's settings and the bench's bare ccxt client read it alike."""
    if not value:
        return None
    try:
        ms = float(value)
    except ValueError:
        ms = 0.0
    if not ms > 0:
        raise ConfigError(f"{name}: must be a positive number of milliseconds (unset: ccxt's own), got {value!r}")
    return ms
