"""Worker settings from flags and environment, validated once at start (one clear line on error)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlparse

from worker.valr import Credentials

DEFAULT_VALR_BASE_URL = "https://api.valr.com"


class ConfigError(ValueError):
    """A missing or malformed setting; the message names it and the rule."""


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str = field(repr=False)  # may hold a password
    valr_base_url: str
    credentials: Credentials
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
    base = valr_base_url or env.get("VALR_BASE_URL") or DEFAULT_VALR_BASE_URL
    parsed = urlparse(base)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"VALR_BASE_URL: must be an http(s) URL like {DEFAULT_VALR_BASE_URL}, got {base!r}")
    key, secret = env.get("VALR_API_KEY", ""), env.get("VALR_API_SECRET", "")
    if not key:
        raise ConfigError("VALR_API_KEY: required in the environment (never a flag: flags show in ps)")
    if not secret:
        raise ConfigError("VALR_API_SECRET: required in the environment (never a flag: flags show in ps)")
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
        credentials=Credentials(api_key=key, api_secret=secret),
        max_session_s=max_session, socket_wait_s=socket_wait, log_format=log_format,
        worker_id=overrides.pop("worker_id", None) or default_worker_id(), **overrides,
    )
