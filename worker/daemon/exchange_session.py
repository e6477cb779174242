"""The session of an account reached through ccxt (Binance, Kraken, Coinbase): the same face and the same
life as a VALR SubaccountSession (a `ws_sessions` row within the connection budget, opened before its
orders are placed, reconnected with backoff, reconciled when SQL says so, closed when `account_work`
says it may), with ccxt's watch loops in place of VALR's account socket. Each read of `watch_orders`
or `watch_my_trades` goes to SQL as it is (`record_exchange_events`); SQL decides what it means.

Its context is the VALR session's with the account's adapter as the client (placement, lookups): the
placement code, the lost-answer rule and the REST follow-ups are the same code for every exchange.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from worker.daemon.session import SubaccountSession, SessionContext
from worker.exchanges.base import StreamingAdapter
from worker.logs import event
from worker.valr import RateLimited, TransportError, ValrError

log = logging.getLogger("worker.session")
STREAM_UP_CHECK_S = 0.02  # how often the start asks ccxt whether the private socket is up


class ExchangeSession(SubaccountSession):
    def __init__(self, ctx: SessionContext, account_id, subaccount_id: str, adapter: StreamingAdapter) -> None:
        super().__init__(ctx, account_id, subaccount_id)
        self.adapter = adapter

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"session:{self.adapter.exchange}:{self.account_id}")

    async def _connected(self, session_id: int, reconnect: bool) -> str:
        if self.stop_reason is not None:
            return self.stop_reason
        readers = [asyncio.create_task(self._record(session_id, reads)) for reads in self.adapter.account_reads()]
        stopped = asyncio.create_task(self.stopped.wait())
        try:
            if not await self._stream_up(readers, stopped):
                return self.stop_reason or "stopped"
            await self.ctx.store.session_authenticated(session_id)
            self.authenticated.set()
            event(log, "session opened", exchange=self.adapter.exchange, account=str(self.account_id),
                  session=session_id, reconnect=reconnect)
            await self._reconcile_if_needed()
            timer = self._max_session_timer()
            try:
                done, _ = await asyncio.wait({*readers, stopped}, return_when=asyncio.FIRST_COMPLETED)
                for task in done - {stopped}:
                    task.result()  # a watch loop's error: the connection is lost (the caller records it)
                return self.stop_reason or "closed by exchange"
            finally:
                if timer:
                    timer.cancel()
        finally:
            stopped.cancel()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            await self.adapter.close_streams()

    async def _after_placement(self, answer: dict) -> None:
        """A ccxt exchange's answer to create_order is its word on the order (a market order comes back
        closed, with its trades): recorded as such, status and trades, before the socket says it again
        (SQL keeps each fill once and an unchanged status unchanged)."""
        if answer.get("trades"):  # trades first, as record_exchange_events: a final status has its fills
            await self.ctx.store.record_fills(self.account_id, "placement", answer["trades"])
        await self.ctx.store.record_order_update(self.account_id, "placement", answer)
        await self._close_if_sql_says_so()

    async def _stream_up(self, readers: list[asyncio.Task], stopped: asyncio.Task) -> bool:
        """Wait until ccxt's private socket is connected and subscribed (True), or the session stops
        (False); a watch loop failing first raises its error."""
        while not self.adapter.stream_up():
            done, _ = await asyncio.wait({*readers, stopped}, timeout=STREAM_UP_CHECK_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stopped}:
                task.result()
            if stopped in done or self.stop_reason is not None:
                return False
        return self.stop_reason is None

    async def _record(self, session_id: int, reads: AsyncIterator[tuple[list[dict], list[dict]]]) -> None:
        """Each read, recorded in one call; its follow-ups (replacements handed over, lookups, closing)
        as the VALR session's."""
        async for orders, trades in reads:
            rows, placements = await self.ctx.store.record_exchange_events(session_id, orders, trades)
            event(log, "read recorded", logging.DEBUG, exchange=self.adapter.exchange, orders=len(orders),
                  trades=len(trades), outcomes=",".join(sorted({f"{r['kind']}:{r['outcome']}" for r in rows})))
            if placements:
                self._place_handed_over(placements)
            self._act_on(rows)
            if not self.adapter.streams_trades:
                self._fetch_trades_of_open(rows)

    def _fetch_trades_of_open(self, rows: list[dict]) -> None:
        """An exchange whose stream carries orders only (Coinbase): any order update may be a fill (a
        partial fill leaves the status unchanged), so that order's trades are read now; record_fill keeps
        each once."""
        updated = list({r["exchange_order_id"] for r in rows
                        if r["exchange_order_id"] is not None and r["outcome"] != "error"})
        if updated:
            self.ctx.spawn(self._fetch_trades(updated), "fetch_order_trades")

    async def _fetch_trades(self, order_ids: list) -> None:
        for order in await self.ctx.store.orders_for_lookup(order_ids):
            try:
                await self.ctx.lookups.fetch_fills(order)
            except (TransportError, RateLimited, ValrError) as exc:  # the safety net reads them later
                event(log, "reading an order's trades failed", logging.WARNING, order=order["exchange_order_id"],
                      error=str(exc)[:200])
