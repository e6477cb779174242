"""Logging: one line per event worth knowing, text for people or JSON for machines.

Secrets never reach a log line: URLs pass through dsn.redact before logging, credentials hide
themselves in repr, and the filter below masks any configured secret that slips into a message.
"""

from __future__ import annotations

import json
import logging
import sys
import time

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this value wherever it would appear in a log line (API secret, DB password)."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def _mask(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _mask(json.dumps(entry, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return _mask(text)


def setup(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "websockets", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # The pool warns at every failed reconnection (dozens a minute in an outage): the worker says an
    # outage once per change of state itself (worker/daemon/dbhealth.py).
    logging.getLogger("psycopg.pool").setLevel(max(level, logging.ERROR))


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields) -> None:
    """Log one event with structured fields (shown as key=value in text, keys in JSON)."""
    logger.log(level, message, extra={"fields": fields})
