"""Live prices for the fallback on an exchange reached through ccxt: the pairs SQL names
(`prices_to_watch(exchange)`), each watched with ccxt's `watch_ticker`, each ticker recorded by
`record_exchange_prices`; the orders whose price trigger it fired have their cancels sent at once.
Pairs SQL says are stale (`rest_pairs`) are read over REST (`fetch_ticker`). A watch that fails is
started again with backoff by the next refresh. SQL decides what a price means."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import psycopg

from worker.daemon.backoff import backoff, pause
from worker.daemon.context import WatchContext
from worker.logs import event
from worker.valr import RateLimited, TransportError, ValrError

if TYPE_CHECKING:  # ccxt (2-4 s to import) only once a ccxt account needs it: a VALR worker starts without
    from worker.exchanges.ccxt_adapter import CcxtAdapter

log = logging.getLogger("worker.prices")
RECHECK_S = 5.0  # the watched pairs are asked again at least this often (and when poked)
COULD_NOT_READ = (TransportError, RateLimited, ValrError, OSError)


class ExchangePriceWatch:
    def __init__(self, ctx: WatchContext, adapter: CcxtAdapter) -> None:
        self.ctx = ctx
        self.adapter = adapter
        self.exchange = adapter.exchange
        self.watches: dict[str, asyncio.Task] = {}
        self._poked = asyncio.Event()
        self.stopping = False

    def poke(self) -> None:
        self._poked.set()

    async def run(self) -> None:
        while not self.stopping:
            try:
                wanted = await self.ctx.store.exchange_prices_to_watch(self.exchange)
                self._watch(set((wanted or {}).get("pairs") or ()))
                for pair in (wanted or {}).get("rest_pairs") or ():
                    await self._read_over_rest(pair)
            except psycopg.Error as exc:
                self.ctx.db.failed(f"prices {self.exchange}", exc)
            try:
                await asyncio.wait_for(self._poked.wait(), RECHECK_S)
            except asyncio.TimeoutError:
                pass
            self._poked.clear()

    def _watch(self, pairs: set[str]) -> None:
        for pair in list(self.watches):
            if pair not in pairs or self.watches[pair].done():
                self.watches.pop(pair).cancel()
        for pair in pairs - set(self.watches):
            self.watches[pair] = asyncio.create_task(self._watch_pair(pair), name=f"prices:{self.exchange}:{pair}")

    async def _watch_pair(self, pair: str) -> None:
        attempt = 0
        stop = asyncio.Event()
        while not self.stopping:
            try:
                ticker = await self.adapter.watch_price(pair)
                attempt = 0
                await self._record([ticker], "ws")
            except COULD_NOT_READ as exc:
                attempt += 1
                event(log, "price stream lost; watching again", logging.WARNING, exchange=self.exchange, pair=pair,
                      attempt=attempt, error=str(exc)[:200])
                await pause(backoff(attempt), stop)
            except psycopg.Error as exc:
                self.ctx.db.failed(f"prices {self.exchange}", exc)
                await pause(backoff(1), stop)

    async def _read_over_rest(self, pair: str) -> None:
        from worker.exchanges.ccxt_adapter import answered  # imported already: self.adapter is one

        try:
            ticker = await answered(self.adapter.ccxt.fetch_ticker(pair))
        except COULD_NOT_READ as exc:
            event(log, "price read over REST failed", logging.WARNING, exchange=self.exchange, pair=pair,
                  error=str(exc)[:200])
            return
        await self._record([ticker], "rest")

    async def _record(self, tickers: list[dict], source: str) -> None:
        fired = await self.ctx.store.record_exchange_prices(self.exchange, tickers, source)
        if fired:
            self.ctx.send_cancels_now()

    async def stop(self) -> None:
        self.stopping = True
        self._poked.set()
        for task in self.watches.values():
            task.cancel()
        await asyncio.gather(*self.watches.values(), return_exceptions=True)
