"""What the worker's watchers (PriceWatch, the due timers) see of the worker around them: the database
calls, the REST client, how to say a database error, and the two things they may ask of the runner —
send the cancels SQL just requested, and run the tick now. Nothing of the runner's own state, so each
runs, and is tested, without a runner (as a SubaccountSession does through its SessionContext).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from worker.daemon.dbhealth import DatabaseHealth
from worker.db.store import Store
from worker.valr import Credentials, ValrClient


@dataclass(frozen=True)
class WatchContext:
    store: Store                          # the SQL functions (prices_to_watch, next_*_due, request_*, mark_*)
    db: DatabaseHealth                    # database errors said once per outage, not per try
    # the cancels SQL just requested leave now, not at the next tick: those it handed over as it fired
    # them (hand_over_cancels) at once, the rest (claim_rest) claimed now
    send_cancels_now: Callable[..., None]
    wake: Callable[[], None]              # the tick runs now (polls SQL just marked due)
    client: ValrClient                    # REST: marketsummary reads
    valr_base_url: str                    # the trade WebSocket's host
    credentials: Credentials              # the trade WebSocket is signed; its repr hides the secret
