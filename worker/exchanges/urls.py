"""`<EXCHANGE>_BASE_URL`: every REST and WebSocket URL of an exchange sent to one origin, its path kept
(http → ws for sockets), so an exchange double on 127.0.0.1 can stand in for the exchange. ccxt keeps its
URLs in a tree (`exchange.urls['api']`, nested dicts of strings); `at_origin` rewrites every leaf."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def at_origin(url: str, base_url: str) -> str:
    """`url` with its scheme and host replaced by `base_url`'s; a ws(s) URL gets ws/wss to match."""
    target, parts = urlsplit(base_url), urlsplit(url)
    secure = target.scheme == "https"
    scheme = ("wss" if secure else "ws") if parts.scheme in ("ws", "wss") else target.scheme
    return urlunsplit((scheme, target.netloc, parts.path, parts.query, parts.fragment))


def rewrite_urls(tree: Any, base_url: str) -> Any:
    """A copy of ccxt's `urls['api']` tree with every URL at `base_url`'s origin."""
    if isinstance(tree, dict):
        return {key: rewrite_urls(value, base_url) for key, value in tree.items()}
    if isinstance(tree, list):
        return [rewrite_urls(value, base_url) for value in tree]
    if isinstance(tree, str) and tree.startswith(("http://", "https://", "ws://", "wss://")):
        return at_origin(tree, base_url)
    return tree


def point_at(exchange: Any, base_url: str | None) -> Any:
    """Send a ccxt exchange's every URL to `base_url` (None: its real URLs); returns the exchange."""
    if base_url:
        exchange.urls = {**exchange.urls, "api": rewrite_urls(exchange.urls["api"], base_url.rstrip("/"))}
    return exchange
