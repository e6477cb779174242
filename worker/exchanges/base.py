"""The exchange adapter: what the worker asks of any exchange. VALR's client (`worker/valr/rest.py`) has
this face already; `CcxtAdapter` gives Binance, Kraken and Coinbase the same one, so placement
(`worker/daemon/session.py`) and the REST lookups (`worker/daemon/lookups.py`) run unchanged for every
exchange. Errors are the worker's categories (`worker/valr/errors.py`), whatever the exchange:

* `RateLimited`: the exchange said slow down; nothing was done.
* `AuthenticationError`: the key was refused; nothing was done.
* `OrderNotFound`: the exchange's positive word that it does not know the order.
* `ValrError` (the name predates the seam: "the exchange answered and refused"): nothing was done.
* `TransportError` / `PlacementAnswerLost`: no answer; an order may have been placed — it is looked
  up by our client order id, never sent again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from worker.valr.rest import MaySend, PlacedOrder


class ExchangeAdapter(Protocol):
    """One account's I/O. `subaccount_id` is VALR's subaccount ('' elsewhere: one account per key)."""

    async def place_limit_order(self, subaccount_id: str, *, pair: str, side: str, quantity: Decimal,
                                price: Decimal, customer_order_id: str, post_only: bool = ...,
                                time_in_force: str | None = ..., may_send: MaySend | None = ...) -> PlacedOrder: ...

    async def place_market_order(self, subaccount_id: str, *, pair: str, side: str, base_amount: Decimal,
                                 customer_order_id: str, may_send: MaySend | None = ...) -> PlacedOrder: ...

    async def order_status(self, subaccount_id: str, pair: str, *, order_id: str | None = None,
                           customer_order_id: str | None = None) -> dict: ...

    async def open_orders(self, subaccount_id: str) -> list[dict]: ...

    async def cancel_order(self, subaccount_id: str, pair: str, *, order_id: str | None = None,
                           customer_order_id: str | None = None) -> Any: ...

    async def order_trades(self, subaccount_id: str, pair: str, order_id: str, *,
                           since: datetime | None = None) -> list[dict]: ...

    async def aclose(self) -> None: ...


class StreamingAdapter(ExchangeAdapter, Protocol):
    """An exchange whose account stream the worker reads as reads of orders and trades (ccxt's
    `watch_orders` / `watch_my_trades`), and whose prices and pair rules come the same way."""

    exchange: str
    streams_trades: bool  # False: the stream carries orders only; fills are read from each order's trades

    def account_reads(self) -> list[AsyncIterator[tuple[list[dict], list[dict]]]]: ...

    def stream_up(self) -> bool: ...

    async def close_streams(self) -> None: ...

    async def markets(self) -> dict: ...

    async def watch_price(self, pair: str) -> dict: ...
