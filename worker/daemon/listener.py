"""The dedicated LISTEN connection (autocommit, outside the pool). A NOTIFY is only a wake-up hint:
the runner asks the database what is due on every wake-up and on a periodic timeout, and after the
LISTEN connection is lost and regained it catches up by query (notifications sent meanwhile are gone).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

import psycopg
from psycopg import sql

from worker.daemon.backoff import backoff
from worker.logs import event

log = logging.getLogger("worker.listener")

PENDING = "lth_pvr_pending"
LEDGER = "lth_pvr_ledger_sync"
AUDIT = "lth_pvr_ledger_audit"  # the daily audit was asked for: claimed with the ledger syncs
CHANNELS = (PENDING, "lth_pvr_submitted", "lth_pvr_poll", "lth_pvr_cancel", LEDGER, AUDIT)


class Listener:
    def __init__(self, database_url: str, wake: asyncio.Event, timeout_s: float,
                 on_pending: Callable[[], None] | None = None,
                 on_ledger: Callable[[], None] | None = None) -> None:
        self.database_url = database_url
        self.wake = wake
        self.timeout_s = timeout_s
        self.on_pending = on_pending  # an order is pending: placed at once, not after a tick under way
        self.on_ledger = on_ledger  # a ledger sync was asked for: claimed on this wake-up
        self.stopping = False
        self.notifications = 0
        self.reconnects = 0

    async def run(self) -> None:
        attempt = 0
        while not self.stopping:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.database_url, autocommit=True, application_name="valr-monitor-listener") as conn:
                    for channel in CHANNELS:
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    if attempt:
                        event(log, "LISTEN connection restored; catching up by query")
                    attempt = 0
                    self.wake.set()  # catch up on whatever was due while not listening
                    await self._listen(conn)
            except psycopg.OperationalError as exc:
                attempt += 1
                self.reconnects += 1
                # Once when lost (and once when restored, above), not at every attempt of an outage.
                event(log, "LISTEN connection lost" if attempt == 1 else "LISTEN connection still lost",
                      logging.WARNING if attempt == 1 else logging.DEBUG, error=str(exc).strip()[:200], attempt=attempt)
                self.wake.set()
                await asyncio.sleep(backoff(attempt, base=0.5, cap=10.0))

    async def _listen(self, conn: psycopg.AsyncConnection) -> None:
        while not self.stopping:
            async for note in conn.notifies(timeout=self.timeout_s):
                self.notifications += 1
                if note.channel == PENDING and self.on_pending is not None:
                    self.on_pending()
                if note.channel in (LEDGER, AUDIT) and self.on_ledger is not None:
                    self.on_ledger()
                self.wake.set()
            # Timeout with no notification: the periodic catch-up, and a liveness check of the link.
            await conn.execute("SELECT 1")
            self.wake.set()
