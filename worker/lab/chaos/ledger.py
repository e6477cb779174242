"""The chaos soak's money (the account ledger, issue 23): a seeded stream of deposits, withdrawals and
transfers in the chaos subaccounts, interleaved with the order load, and the history faults; at the
end, a final catch-up and the ledger's ground-truth check.

The stream: fiat deposits (sometimes two of the same amount at the same moment: two deposits, never
one), crypto deposits confirming over NEW_PENDING_RECEIVE frames before their credit, withdrawals with
their network or bank fee, transfers between two chaos subaccounts. The history faults: records dropped
or sent twice or reordered on the socket (they stay in the REST history), a page boundary of the REST
catch-up between two transactions with the same timestamp (201+ deposits stamped alike, none of them on
the socket, then a sync asked for as a person would), and fills whose trade reaches the history but
never the order socket. Both come from their own random.Random(seed): the order faults' schedule of a
seed is the same with or without them.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

import psycopg

from worker.lab.worker_process import wait_for

MOVES = {"fiat_deposit": 4, "twin_deposits": 1, "crypto_deposit": 3, "withdrawal": 2, "transfer": 2}
HISTORY_FAULTS = {"history_dropped": 2, "history_duplicated": 2, "history_reordered": 2,
                  "history_page_boundary": 1, "trade_off_socket": 2}
PAGE = 200          # the catch-up's page (worker.valr.rest.HISTORY_PAGE)
SYNC_TIMEOUT_S = 120.0


@dataclass
class LedgerStream:
    """Called by the chaos driver every loop: injects the money moves and history faults that are due."""
    rng: random.Random
    sim: object                                   # SimulatorThread
    subaccounts: list[str]                        # the chaos customers' subaccount ids
    accounts: dict[str, object]                   # subaccount id → exchange_account_id
    sql: Callable[..., list]                      # the driver's reconnecting SQL (Sql.rows)
    record: Callable[..., None]                   # FaultInjector._record: the fault timeline
    seconds: float                                # the faulty part of the run
    mean_gap_s: float = 0.8                       # between two money moves
    fault_gap_s: float = 5.0                      # between two history faults
    moves: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MOVES, 0))
    started: float = field(default_factory=time.monotonic)
    _next_move: float = 0.0
    _next_fault: float = 0.0
    _reorder_until: float | None = None

    _first: list[str] = field(default_factory=list)   # the history faults still to inject once
    _first_moves: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A short run still gets every move and history fault: each kind once (seeded order), then weighted draws.
        self.fault_gap_s = max(1.0, min(self.fault_gap_s, self.seconds / (2 * len(HISTORY_FAULTS))))
        self._first = self.rng.sample(list(HISTORY_FAULTS), len(HISTORY_FAULTS))
        self._first_moves = self.rng.sample(list(MOVES), len(MOVES))
        self._next_move = self.rng.expovariate(1 / self.mean_gap_s)
        self._next_fault = self.rng.expovariate(1 / self.fault_gap_s)

    def step(self) -> None:
        now = time.monotonic() - self.started
        if self._reorder_until is not None and now >= self._reorder_until:
            self.sim.set_faults(history_reorder=False)
            self._reorder_until = None
        if now >= self.seconds:
            return
        if now >= self._next_move:
            kind = self._first_moves.pop(0) if self._first_moves else \
                self.rng.choices(list(MOVES), list(MOVES.values()))[0]
            getattr(self, f"_{kind}")()
            self.moves[kind] += 1
            self._next_move = now + self.rng.expovariate(1 / self.mean_gap_s)
        if now >= self._next_fault:
            kind = self._first.pop(0) if self._first else \
                self.rng.choices(list(HISTORY_FAULTS), list(HISTORY_FAULTS.values()))[0]
            getattr(self, f"_{kind}")()
            self._next_fault = now + self.rng.expovariate(1 / self.fault_gap_s)

    # -- money ----------------------------------------------------------------------------------
    def _sub(self) -> str:
        return self.rng.choice(self.subaccounts)

    def _zar(self) -> str:
        return f"{self.rng.randint(10_000, 500_000) / 100:.2f}"

    def _fiat_deposit(self) -> None:
        self.sim.deposit(self._sub(), "ZAR", self._zar())

    def _twin_deposits(self) -> None:
        """Two deposits of the same amount at the same moment: two transactions (by VALR's id)."""
        self.sim.deposit(self._sub(), "ZAR", self._zar(), count=2, same_time=True)

    def _crypto_deposit(self) -> None:
        currency = self.rng.choice(("BTC", "ETH"))
        self.sim.deposit(self._sub(), currency, f"0.{self.rng.randint(1, 99_999):05d}", kind="crypto",
                         confirmations=self.rng.randint(1, 4), confirm_every_ms=self.rng.randint(50, 400))

    def _withdrawal(self) -> None:
        if self.rng.random() < 0.5:
            self.sim.withdraw(self._sub(), "BTC", f"0.00{self.rng.randint(100, 999)}", fee="0.0001", kind="crypto")
        else:
            self.sim.withdraw(self._sub(), "ZAR", self._zar(), fee="8.50", kind="fiat")

    def _transfer(self) -> None:
        if len(self.subaccounts) < 2:
            return
        from_id, to_id = self.rng.sample(self.subaccounts, 2)
        if self.rng.random() < 0.5:
            self.sim.transfer(from_id, to_id, "ZAR", self._zar())
        else:
            self.sim.transfer(from_id, to_id, "BTC", f"0.000{self.rng.randint(1, 9)}")

    # -- history faults -------------------------------------------------------------------------
    def _history_dropped(self) -> None:
        n = self.rng.randint(1, 6)
        self.sim.set_faults(history_drop=n)
        self.record("history_dropped", f"the next {n} history records never reach the socket")

    def _history_duplicated(self) -> None:
        n = self.rng.randint(1, 6)
        self.sim.set_faults(history_duplicate=n)
        self.record("history_duplicated", f"the next {n} history records sent twice")

    def _history_reordered(self) -> None:
        seconds = round(self.rng.uniform(1, 4), 1)
        self.sim.set_faults(history_reorder=True)
        self._reorder_until = time.monotonic() - self.started + seconds
        self.record("history_reordered", f"history records swapped in pairs for {seconds}s", seconds)

    def _history_page_boundary(self) -> None:
        """More than a page of deposits stamped alike, kept off the socket: only the REST catch-up brings
        them, and one of its page boundaries falls between two of them (same eventAt)."""
        sub, n = self._sub(), PAGE + self.rng.randint(1, 20)
        self.sim.set_faults(history_drop=n)
        self.sim.deposit(sub, "ZAR", "1.00", count=n, same_time=True)
        self.sql("SELECT lth_pvr.request_ledger_sync(%s)", (self.accounts[sub],))
        self.record("history_page_boundary", f"{n} deposits of R1.00 at one eventAt in {sub}, off the socket; "
                                             "a sync requested")

    def _trade_off_socket(self) -> None:
        n = self.rng.randint(1, 3)
        self.sim.set_faults(fills_off_socket=n)
        self.record("trade_off_socket", f"the next {n} fills reach the history and balances, never the order socket")


# -- the deposits' NOTIFY ---------------------------------------------------------------------------
class DepositListener:
    """LISTEN lth_pvr_deposit all run long, in a thread, reconnecting at once when PostgreSQL restarts
    (`gaps` counts the listening connections lost: a deposit committed before the next LISTEN would be
    missed, and the count of NOTIFYs would say so)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.payloads: list[str] = []
        self.gaps = 0
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deposit-listener", daemon=True)

    def start(self) -> "DepositListener":
        self._thread.start()
        if not self._listening.wait(10):
            raise RuntimeError("chaos: the deposit listener did not start")
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            listening = False
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute("LISTEN lth_pvr_deposit")
                    listening = True
                    self._listening.set()
                    while not self._stop.is_set():
                        self.payloads.extend(n.payload for n in conn.notifies(timeout=0.2))
            except psycopg.OperationalError:
                self.gaps += listening
                time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


# -- the end ----------------------------------------------------------------------------------------
def final_catch_up(sql: Callable[..., list], sim, timeout: float = SYNC_TIMEOUT_S) -> float:
    """Every crypto deposit credited on the exchange, then a sync of every account asked for
    (request_ledger_sync) and waited for: the condition `every account's ledger synced after the
    request` — its cursor's synced_at later than the request, no request left pending, no claim
    open (the worker reads the balances, then the history, and stamps synced_at with the last page).
    Returns the seconds it took."""
    began = time.monotonic()
    wait_for(lambda: not any(sim.ledger(sub)["pending"] for sub in sim.call(sim.sim.exchange.ledger.subaccounts)),
             timeout, "every crypto deposit credited on the exchange", interval=0.1)
    [(asked_at,)] = sql("SELECT now()")
    sql("SELECT lth_pvr.request_ledger_sync()")
    wait_for(lambda: sql(
        """SELECT bool_and(synced_at > %s AND sync_requested_at IS NULL AND sync_claimed_at IS NULL)
             FROM lth_pvr.ledger_cursors""", (asked_at,))[0][0], timeout,
             "every account's ledger synced after the request", interval=0.2)
    return round(time.monotonic() - began, 1)
