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
        # Connected and reconciled: the account's ledger reads wait for it (ledger.sync_exchange_ledger), so
        # an exchange's per-key throttle never queues a reconnect's calls behind them.
        self.settled = asyncio.Event()

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
            if self.adapter.watches_balance:
                readers.append(asyncio.create_task(self._watch_balance()))
            self.authenticated.set()
            event(log, "session opened", exchange=self.adapter.exchange, account=str(self.account_id),
                  session=session_id, reconnect=reconnect)
            await self._reconcile_if_needed()
            # Its socket carries no history (unlike VALR's): a reconnect lost none, and the history is read
            # on schedule and on request (claim_ledger_syncs). The balance is read now, after the orders'
            # REST work: an exchange's throttle (Kraken: a second or more a private call) queues it behind.
            self.settled.set()
            self.ctx.spawn(self._read_balance(), "read_balance")
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
            self.settled.clear()
            stopped.cancel()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            await self.adapter.close_streams()

    async def _after_placement(self, answer: dict) -> None:
        """A ccxt exchange's answer to create_order is its word on the order (a market order comes back
        closed, with its trades): recorded as such, trades then status, before the socket says it again
        (SQL keeps each fill once and an unchanged status unchanged). An order it finished is followed
        up as the socket's word is (_act_on: its missing fills fetched now; the session closed if SQL
        says so): the lease of an account with nothing open is dropped at the next renewal, and its
        socket's trade events with it."""
        rows = await self.ctx.store.record_placement_answer(self.account_id, answer)
        if not self._act_on(rows, source="placement"):  # (it asks SQL about closing for a finished order)
            await self._close_if_sql_says_so()

    async def _read_balance(self) -> None:
        try:
            await self.ctx.store.record_exchange_balances(self.account_id, "rest", await self.adapter.balance())
        except (TransportError, RateLimited, ValrError) as exc:  # the ledger's syncs read it again
            event(log, "reading the balance failed", logging.WARNING, exchange=self.adapter.exchange,
                  account=str(self.account_id), error=str(exc)[:200])

    async def _watch_balance(self) -> None:
        """watch_balance where ccxt has it: each read recorded (record_exchange_balances, source ws; SQL asks
        a REST read when a read carries totals only, as Kraken's). The next watch is armed before a read is
        recorded: ccxt resolves only a watch already waiting (two messages back to back: a deposit's
        balanceUpdate and outboundAccountPosition). Its error ends this watch only: the ledger's syncs read
        the balance too (fetch_balance)."""
        pending = asyncio.ensure_future(self.adapter.watch_balance())
        try:
            while True:
                balance = await pending
                pending = asyncio.ensure_future(self.adapter.watch_balance())
                written = await self.ctx.store.record_exchange_balances(self.account_id, "ws", balance)
                event(log, "balance read recorded", logging.DEBUG, exchange=self.adapter.exchange, written=written)
        except (TransportError, RateLimited, ValrError) as exc:
            event(log, "watching the balance ended", logging.WARNING, exchange=self.adapter.exchange,
                  account=str(self.account_id), error=str(exc)[:200])
            await asyncio.Event().wait()  # the session's life is its order stream's: wait to be cancelled
        finally:
            pending.cancel()

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
