"""The worker pool's connection check, without a round trip on a connection that was just working.

psycopg_pool's `check_connection` pings the server on every checkout: one more round trip before
every record_batch, which under load was a tenth of the event → commit latency. A connection given
back less than `idle_s` ago has just completed a query: it is handed out unchecked. One idle longer
(across a PostgreSQL restart, say) is pinged as before, and a dead one replaced. A connection that
dies within the window fails the one call that uses it, which every caller already survives (a
session drops its socket and reconciles on reconnect).
"""

from __future__ import annotations

import logging
import time
import weakref

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from worker.logs import event

log = logging.getLogger(__name__)


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


# A new connection's first call of a function compiles it and plans its statements, and its first touch
# of a table loads the catalogue caches: tens of milliseconds on a loaded machine. The price leg
# (record_market_prices → price_triggered_orders → request_fallback, and hand_over_cancels) is warmed
# on every connection as the pool opens it — an empty read of prices records nothing, fires nothing
# and writes no row — so a fallback's first DELETE does not pay for it. The replacement's leg (the
# Cancelled read: record_batch, finish_order, replace_after_fallback, the insert's triggers, the
# hand-over's claim and stamp) cannot be reached without rows: SQL rehearses it REHEARSALS times on
# throwaway rows it undoes (rehearse_replacement): past PostgreSQL's five custom plans of each statement
# and its sixth execution, which plans the generic one,
# so a connection's first real fallback records warm (figure 8: its server time 31.8 ms cold, 4.0 warm).
REHEARSALS = 6
WARM_UP = ("SELECT r.failure,"
           " (SELECT count(*) FROM lth_pvr.record_market_prices('[]'::jsonb, 'ws')),"
           " (SELECT count(*) FROM lth_pvr.hand_over_cancels(NULL, '{}'::uuid[]))"
           " FROM lth_pvr.rehearse_replacement(%s) r")


async def warm_up(conn: AsyncConnection) -> None:
    """The pool's `configure`: the hot statements prepared before the connection is handed out. A
    failure only leaves the connection cold (a database being migrated, say): never refused for it. A
    rehearsal SQL says failed is logged at WARNING, once for the connection: what failed it (a row
    colliding with its throwaway ones, say) may fail a real fallback too."""
    try:
        failure = (await (await conn.execute(WARM_UP, (REHEARSALS,))).fetchone())[0]
    except psycopg.Error as exc:
        log.debug("warming a new connection failed: %s", exc)
        return
    if failure:
        event(log, "rehearsing the fallback's replacement failed: this connection records its first fallbacks"
              " cold, and a real fallback may fail the same way", logging.WARNING, failure=failure)


class HotFirstPool(AsyncConnectionPool):
    """A pool that hands out the connection given back last (psycopg_pool hands out the one idle longest).

    The worker's calls mostly come one at a time (a fill's read, a tick): handed out in turn, each of the
    ten connections served every tenth call, so every record_batch ran on a backend idle for ten calls'
    time — its process, its caches and its plans cold again — and took 0.4–0.7 ms more on the server than
    on a connection that just worked (docs/performance.md, figure 1). Most recent first, a steady flow
    stays on one or two warm backends; the others still serve when calls overlap, and, idle longest,
    are the ones the pool's shrinking closes first (it takes from the same end as before)."""

    async def _get_ready_connection(self, timeout: float | None):
        # Called under the pool's lock; the pool takes from the left and gives back on the right.
        if len(self._pool) > 1:
            self._pool.rotate(1)
        return await super()._get_ready_connection(timeout)
