"""Live prices: one trade WebSocket per worker, subscribed to MARKET_SUMMARY_UPDATE for the pairs SQL
says need prices (prices_to_watch), each read recorded by one record_market_prices call.

The set of pairs is asked again when the runner pokes (a NOTIFY: orders changed) and at least every
RECHECK_S, never more often than MIN_REFRESH_S; a changed set is one SUBSCRIBE on the open socket.
A lost socket is reopened with backoff and jitter. Freshness is per pair and SQL's to judge: every
REST_CHECK_S the REST loop asks which pairs have had no price received for `rest_poll_seconds`, or
hold a price crossing whose confirmation only a new price can give (prices_to_watch().rest_pairs), and
reads their marketsummary — a pair the socket does not deliver, a silent socket and a lost one alike.
A socket silent for `quiet_seconds` is asked again (SUBSCRIBE makes VALR send the latest summary at
once); still silent after that, it is treated as lost. SQL answers each record with the orders whose price trigger fired
and, claimed in the same transaction, the cancels of those this worker leases (hand_over_cancels): their
DELETEs leave at once (WatchContext.send_cancels_now), with no claim round trip and no wait for the tick.
"""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg

from worker.daemon.backoff import backoff
from worker.daemon.context import WatchContext
from worker.logs import event
from worker.valr import AuthenticationError, ConnectionLost, RateLimited, TransportError, ValrError
from worker.valr.trade_ws import MARKET_SUMMARY, TradeSocket

log = logging.getLogger("worker.prices")

RECHECK_S = 5.0       # the watched pairs are asked again at least this often
MIN_REFRESH_S = 0.5   # and at most this often, however many NOTIFYs arrive
REST_CHECK_S = 1.0    # SQL is asked this often which pairs to read over REST (at most rest_poll_seconds)
REST_RETRY_S = 2.0    # a pair SQL still names (its read failed, or was no newer) is read again after this
LOST = (ConnectionLost, TransportError, AuthenticationError, OSError)


class PriceWatch:
    def __init__(self, ctx: WatchContext) -> None:
        self.ctx = ctx
        self.pairs: tuple[str, ...] = ()
        self.rest_poll_s = 10.0
        self.quiet_s = 30.0
        self.down_since: float | None = None   # the socket failed and is not back (its pairs go stale)
        self._rest_tried: dict[str, float] = {}  # pair → when its marketsummary was last asked for
        self.stopping = False
        self.socket: TradeSocket | None = None
        self._poked = asyncio.Event()
        self._last_refresh = float("-inf")
        self._last_frame = time.monotonic()
        self._probe_at: float | None = None

    def poke(self) -> None:
        """Orders changed: the set of pairs may have too."""
        self._poked.set()

    async def stop(self) -> None:
        self.stopping = True
        self._poked.set()
        if self.socket is not None:
            await self.socket.close()

    async def run(self) -> None:
        loops = [asyncio.create_task(self._socket_loop()), asyncio.create_task(self._rest_loop())]
        try:
            await asyncio.gather(*loops)
        finally:  # one loop failing ends both: its supervisor restarts the pair, never a second copy of one
            for loop in loops:
                loop.cancel()

    # -- the trade socket -------------------------------------------------------------------------
    async def _socket_loop(self) -> None:
        attempt = 0
        while not self.stopping:
            try:
                await self._refresh()
                if not self.pairs:
                    await self._wait_poke(RECHECK_S)
                    continue
                await self._connected()
                attempt = 0
            except LOST as exc:
                attempt += 1
                self.down_since = self.down_since or time.monotonic()
                event(log, "trade socket lost; reading prices over REST meanwhile", logging.WARNING,
                      attempt=attempt, error=str(exc)[:200])
            except psycopg.Error as exc:
                attempt += 1
                self.ctx.db.failed("prices", exc)
            except Exception:  # a bug must not end live prices for good: log it, back off, start again
                attempt += 1
                self.down_since = self.down_since or time.monotonic()
                log.exception("price watch failed unexpectedly; reconnecting")
            if not self.stopping and attempt:
                await asyncio.sleep(backoff(attempt, base=0.5, cap=30.0))

    async def _connected(self) -> None:
        async with TradeSocket(self.ctx.valr_base_url, self.ctx.credentials) as sock:
            self.socket = sock
            await self._subscribe(sock)
            self.down_since = None
            event(log, "trade socket subscribed", pairs=",".join(self.pairs))
            reader = asyncio.create_task(self._read(sock), name="prices-reader")
            try:
                await self._watch(sock, reader)
            finally:
                reader.cancel()
                self.socket = None

    async def _subscribe(self, sock: TradeSocket) -> None:
        await sock.subscribe(self.pairs)
        self._last_frame, self._probe_at = time.monotonic(), None

    async def _watch(self, sock: TradeSocket, reader: asyncio.Task) -> None:
        """Until the reader ends (the socket is lost) or the worker stops: follow the set of pairs, and
        find a silent socket."""
        while not self.stopping and not reader.done():
            await self._wait_poke(min(RECHECK_S, self.quiet_s), reader)
            if reader.done() or self.stopping:
                break
            if await self._refresh():
                event(log, "trade socket resubscribing", pairs=",".join(self.pairs))
                await self._subscribe(sock)
            elif self.pairs:
                await self._check_silence(sock)
        if reader.done() and not reader.cancelled():
            reader.result()  # raises what ended it (ConnectionLost)

    async def _check_silence(self, sock: TradeSocket) -> None:
        now = time.monotonic()
        if now - self._last_frame < self.quiet_s:
            return
        if self._probe_at is None:
            self._probe_at = now
            await sock.subscribe(self.pairs)  # VALR answers a SUBSCRIBE with the latest summary
        elif now - self._probe_at >= min(self.quiet_s, 10.0):
            raise ConnectionLost(f"trade socket silent for {now - self._last_frame:.0f}s, even after SUBSCRIBE")

    async def _read(self, sock: TradeSocket) -> None:
        async for batch in sock.batches():
            self._last_frame, self._probe_at = time.monotonic(), None
            frames = [e.raw for e in batch if e.type == MARKET_SUMMARY]
            if frames:
                await self._record(frames, "ws")

    # -- REST for the pairs SQL finds stale --------------------------------------------------------
    async def _rest_loop(self) -> None:
        while not self.stopping:
            try:
                await self._read_rest(await self._stale_pairs())
            except psycopg.Error as exc:  # the database is away: ask again less often meanwhile
                self.ctx.db.failed("prices", exc)
                await asyncio.sleep(RECHECK_S)
            except Exception:  # as above: the next round tries again
                log.exception("reading prices over REST failed unexpectedly")
            await asyncio.sleep(min(REST_CHECK_S, self.rest_poll_s))

    async def _stale_pairs(self) -> list[str]:
        """The pairs SQL names for a REST read (stale, or a price crossing awaiting its confirmation), less
        those asked for within REST_RETRY_S (VALR's answer may not have been newer than the price held,
        or the read failed: not again at once)."""
        row = await self.ctx.store.prices_to_watch()
        self.rest_poll_s = float(row["rest_poll_seconds"])
        now, spacing = time.monotonic(), min(REST_RETRY_S, self.rest_poll_s)
        due = [p for p in row["rest_pairs"] if now - self._rest_tried.get(p, float("-inf")) >= spacing]
        self._rest_tried = {p: t for p, t in self._rest_tried.items() if p in row["pairs"]}
        self._rest_tried.update((p, now) for p in due)
        return due

    async def _read_rest(self, pairs: list[str]) -> None:
        answers = []
        for pair in pairs:
            try:
                answers.append(await self.ctx.client.market_summary(pair))
            except (TransportError, RateLimited, ValrError) as exc:
                event(log, "marketsummary failed", logging.WARNING, pair=pair, error=str(exc)[:200])
        if answers:
            try:
                await self._record(answers, "rest")
            except psycopg.Error as exc:
                self.ctx.db.failed("prices", exc)

    # -- SQL ----------------------------------------------------------------------------------------
    async def _record(self, frames: list[dict], source: str) -> None:
        fired, handed_over = await self.ctx.store.record_market_prices(frames, source)
        if fired:  # the DELETEs first: logging can wait
            self.ctx.send_cancels_now(handed_over, claim_rest=len(handed_over) < len(fired))
        for row in fired:
            event(log, "price trigger fired", order=row["exchange_order_id"], pair=row["pair"],
                  price_seen=row["price_seen"], trigger=row["trigger"])

    async def _refresh(self) -> bool:
        """Ask SQL which pairs to watch (at most every MIN_REFRESH_S); True when the set changed."""
        wait = self._last_refresh + MIN_REFRESH_S - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_refresh = time.monotonic()
        row = await self.ctx.store.prices_to_watch()
        self.rest_poll_s, self.quiet_s = float(row["rest_poll_seconds"]), float(row["quiet_seconds"])
        pairs = tuple(row["pairs"])
        changed, self.pairs = pairs != self.pairs, pairs
        return changed

    async def _wait_poke(self, timeout: float, reader: asyncio.Task | None = None) -> None:
        """Until poked, the timeout, or (when given) the reader ends."""
        poked = asyncio.create_task(self._poked.wait())
        waiting = {poked} if reader is None else {poked, reader}
        await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        poked.cancel()
        self._poked.clear()
