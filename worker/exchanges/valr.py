"""VALR behind the exchange seam: our own client (ccxt has no VALR), whose face is already the adapter's
(`worker/exchanges/base.py`: place limit/market with our customerOrderId, cancel, look up by our id, open
orders, an order's trades), so nothing wraps it. Its account stream is VALR's own socket
(`worker/valr/ws.py`, read by `worker/daemon/session.py`), its prices the trade socket and its pair rules
`/v1/public/pairs` — unchanged by the seam."""

from __future__ import annotations

from worker.exchanges.base import ExchangeAdapter
from worker.valr import ValrClient

VALR_ADAPTER: type[ExchangeAdapter] = ValrClient  # checked by type checkers against the adapter's face

__all__ = ["ValrClient", "VALR_ADAPTER"]
