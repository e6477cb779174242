"""The worker pool's connection check, without a round trip on a connection that was just working.

psycopg_pool's `check_connection` pings the server on every checkout: one more round trip before
every record_batch, which under load was a tenth of the event → commit latency. A connection given
back less than `idle_s` ago has just completed a query: it is handed out unchecked. One idle longer
(across a PostgreSQL restart, say) is pinged as before, and a dead one replaced. A connection that
dies within the window fails the one call that uses it, which every caller already survives (a
session drops its socket and reconciles on reconnect).
"""

from __future__ import annotations

import time
import weakref

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


class CheckWhenIdle:
    def __init__(self, idle_s: float = 1.0) -> None:
        self.idle_s = idle_s
        self._returned: weakref.WeakKeyDictionary[AsyncConnection, float] = weakref.WeakKeyDictionary()

    async def reset(self, conn: AsyncConnection) -> None:
        """Called by the pool when a connection comes back."""
        self._returned[conn] = time.monotonic()

    async def check(self, conn: AsyncConnection) -> None:
        """Called by the pool before handing a connection out; raises if it is broken."""
        if time.monotonic() - self._returned.get(conn, float("-inf")) >= self.idle_s:
            await AsyncConnectionPool.check_connection(conn)
