"""Whether the worker can reach PostgreSQL, said once per change of state.

During an outage every task of the worker fails and retries by itself (the tick, the lease watcher,
the listener, the fallback timer, live prices, each session). Each reports its database error here
instead of logging it: the first one after a good call is one WARNING line ("PostgreSQL unreachable"),
the rest are DEBUG; the first good call after that is one INFO line with how long it lasted.
psycopg_pool's own reconnection warnings are silenced in worker.logs for the same reason.
"""

from __future__ import annotations

import logging
import time

from worker.logs import event

log = logging.getLogger("worker.database")


class DatabaseHealth:
    def __init__(self) -> None:
        self.down_since: float | None = None

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, source: str, exc: BaseException) -> None:
        error = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        if self.down_since is None:
            self.down_since = time.monotonic()
            event(log, "PostgreSQL unreachable; every task retries by itself", logging.WARNING,
                  source=source, error=error)
        else:
            event(log, "PostgreSQL still unreachable", logging.DEBUG, source=source, error=error)

    def ok(self) -> None:
        if self.down_since is not None:
            event(log, "PostgreSQL reachable again", outage_s=round(time.monotonic() - self.down_since, 1))
            self.down_since = None
