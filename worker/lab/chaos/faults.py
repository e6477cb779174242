"""The chaos soak's faults: a seeded schedule and the hands that inject each kind.

Every fault is something production does to the monitor: the exchange closes the account sockets,
loses, repeats or reorders events, answers REST with 429 storms or 5xx, accepts an order and loses
the answer; a customer puts hundreds of resting orders into one subaccount (every list VALR sends
there is then hundreds of items long); a worker dies by SIGKILL; the LISTEN connection is
terminated; PostgreSQL restarts.
Issue 14's classes: long 429 storms without Retry-After (the client waits for the next minute), a
worker joining during such a storm (sharing a worker id with a running one), failing DELETEs
(503 / 429 / no answer / FAILED_CANCEL_ORDER) on cancels the harness requests, a clock step on one
worker, and the hand edits an operator might type (each must be refused by name).
Issue 21's: an operator's plain INSERT of another order for an intent already executing (refused by
the intent invariant's named rule).
Issue 16's classes, on the limit → market fallback path: a cancel's answer lost, a fill racing the
cancel (VALR fills the order completely before the cancel is processed), cancels that complete late
(a market order sent on the 202 would meet the funds still reserved), the trade socket dropped or
silent, and price jumps — against the resting price-fallback orders of one side (their triggers
fire) and so in favour of the other side's (theirs must not).
Issue 21's class: a worker killed (SIGKILL) between claiming market orders and sending them — the
claims wait for a socket the exchange is slow to authenticate; each order must be placed again, once.
Issue 21's classes, on the price trigger: the pair left out of the trade feed (the socket stays up:
only REST reads of the stale pair keep the trigger seeing), and one-frame spikes against the resting
price-fallback orders (reverted after 0-50 ms: shorter than any confirmation, nothing may fire).
Issue 21's class on a person's cancel racing a fallback: for a few seconds (cancels completing late,
so the fallback's DELETE stays in flight), every order whose fallback has just fired is cancelled by a
person (request_cancel); those it reached before VALR's final word get no replacement (the intent check).
The schedule comes from one random.Random(seed), so the same seed injects the same faults in the
same order, with the same parameters, at the same offsets (thread timing, and so the exact
interleaving, still varies). Each drawn fault gets a generator of its own, seeded from the schedule:
what a fault draws later or depending on the run's state (which workers are alive, whom a
killed_before_post kills and when) cannot shift the faults after it.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

import psycopg

from worker.lab.chaos.intents import Quote
from worker.lab.chaos.ledger import HISTORY_FAULTS
from worker.lab.worker_process import WorkerProcess, wait_for

# Kinds drawn at random through the run, with their weights. `pg_restart` is not drawn: it happens
# exactly once, at a seeded moment in the middle of the run.
WEIGHTS = {
    "ws_closed": 2,
    "events_dropped": 3,
    "events_duplicated": 2,
    "events_reordered": 2,
    "rest_429_storm": 2,
    "rest_5xx": 2,
    "placement_timeout": 2,
    "worker_sigkill": 1,
    "worker_restart_same_id": 1,
    "listen_terminated": 1,
    "crowded_subaccount": 1,
    "rest_429_long_storm": 1,
    "worker_joins_storm": 1,
    "delete_failures": 2,
    "clock_step": 1,
    "operator_edit": 2,
    "intent_insert": 2,
    "cancel_answer_lost": 2,
    "fill_races_cancel": 2,
    "cancel_delay": 2,
    "trade_socket_dropped": 1,
    "trade_socket_silent": 1,
    "price_jump": 3,
    "killed_before_post": 1,
    "trade_pair_muted": 1,
    "price_spike": 2,
    # Drawn only when named (--faults, as the short fallback run does): weight 0 leaves every other
    # seed's random schedule as it was (seed 11's default schedule with it drawn ended with fills lost
    # in crowded subaccounts; the same seed's schedule without it passes — reported for investigation).
    "person_cancels_fallback": 0,
}
NAMED_WEIGHT = 2         # the weight of a kind of weight 0 when --faults names it
PAIR = "BTCZAR"          # the pair every chaos order trades
JUMP_LIMIT = 0.06        # price jumps keep the mid within this fraction of where it started
SPIKE_LIMIT = 0.03       # a one-frame spike moves the market at most this fraction from where it is
REWATCH_LIMIT_S = 30.0   # a worker restarted under its own id watches its subaccounts again within this
CLOCK_OFFSET_FILE_ENV = "MONITOR_TEST_CLOCK_OFFSET_FILE"  # read by each worker's signers (worker.valr.signing)
DELETE_ROUTE = "DELETE /v1/orders/order"

# What an operator might type by hand, and the rule that must refuse it.
OPERATOR_EDITS = {
    "status typed by hand": (
        "UPDATE lth_pvr.exchange_orders SET status = 'cancelled' WHERE exchange_order_id = "
        "(SELECT exchange_order_id FROM lth_pvr.exchange_orders WHERE status = 'submitted' LIMIT 1)",
        "status_must_change_through_functions"),
    "fill deleted by hand": (
        "DELETE FROM lth_pvr.order_fills WHERE fill_id = (SELECT max(fill_id) FROM lth_pvr.order_fills)",
        "order_fills_must_be_append_only"),
    "qty Infinity inserted": (
        "INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty) "
        "SELECT exchange_account_id, gen_random_uuid(), 'BTCZAR', 'BUY', 1100000, 'Infinity' "
        "FROM lth_pvr.exchange_accounts WHERE exchange = 'valr' LIMIT 1", "qty_must_be_finite"),
    "absurd qty inserted": (
        "INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty) "
        "SELECT exchange_account_id, gen_random_uuid(), 'BTCZAR', 'BUY', 1100000, 1e30 "
        "FROM lth_pvr.exchange_accounts WHERE exchange = 'valr' LIMIT 1", "order_value_must_be_plausible"),
}
FAULT_KINDS = (*WEIGHTS, "pg_restart", *HISTORY_FAULTS)  # the history faults: chaos.ledger's own schedule

# intent_insert (issue 21): another market order for an intent already executing — every order of it
# finished, something executed — typed as a valr_operator member would, naming no order it replaces:
# the intent invariant must refuse it by this rule (whatever was executed, the whole ask again is more).
INTENT_UNDER_WAY = """
    SELECT o.exchange_account_id, o.intent_id, (array_agg(o.side))[1],
           (array_agg(o.qty ORDER BY o.created_at) FILTER (WHERE o.replaces_order_id IS NULL))[1]
      FROM lth_pvr.exchange_orders o
     WHERE o.exchange = 'valr'  -- VALR's pair: the other exchanges' intents would be refused by their pair rules
     GROUP BY o.exchange_account_id, o.intent_id
    HAVING bool_and(o.status IN ('filled', 'cancelled', 'failed')) AND sum(o.filled_qty) > 0
     ORDER BY random() LIMIT 1"""
INTENT_INSERT_RULE = "intent_must_not_execute_more_than_asked"


@dataclass
class FaultRecord:
    at_s: float       # seconds since the run started
    kind: str
    detail: str
    wall: float = field(default_factory=time.time)  # when, on the clock the exchange stamps events with
    until_s: float | None = None                     # when the fault ended (timed faults)
    accepted: bool = False                           # operator_edit, intent_insert: the database took what it must refuse
    used: int | None = None                          # count-down faults: how many the exchange used up
    rewatch_s: float | None = None                   # worker_restart_same_id: its subaccounts watched again after
    late: bool = False                               # worker_restart_same_id: not watched again within the limit
    orders: list[str] = field(default_factory=list)  # killed_before_post: the customerOrderIds it concerns

    def line(self) -> str:
        return f"{self.at_s:7.2f}s  {self.kind:<18} {self.detail}"


@dataclass
class FaultPlan:
    seconds: float                 # length of the faulty part of the run
    mean_gap_s: float = 3.0        # mean time between two faults (exponential gaps)
    pg_restart: bool = True
    kinds: tuple[str, ...] = tuple(WEIGHTS)  # the kinds drawn (--faults)
    every_kind_first: bool = False  # the first faults are each kind once (seeded order), then weighted draws


@dataclass
class FaultInjector:
    """Draws the next fault from the seeded generator and injects it; reverts timed faults."""

    rng: random.Random
    plan: FaultPlan
    sim: object                                   # SimulatorThread
    workers: list[WorkerProcess]
    admin_url: str                                # superuser URL, for pg_terminate_backend
    restart_pg: Callable[[], None] | None         # None: PostgreSQL is not ours to restart
    started: float = field(default_factory=time.monotonic)
    records: list[FaultRecord] = field(default_factory=list)
    _revert_at: dict[str, float] = field(default_factory=dict)   # sim fault field -> deadline
    _respawn_at: dict[int, float] = field(default_factory=dict)  # worker index -> restart time
    _next_at: float = 0.0
    _pg_restart_at: float | None = None
    workdir: object = None                                        # Path: the workers' clock-offset files
    joined: list[WorkerProcess] = field(default_factory=list)     # workers started during a storm
    _clock_back_at: dict[int, float] = field(default_factory=dict)  # worker index -> clock corrected at
    resting: list[str] = field(default_factory=list)  # subaccounts whose orders rest all run (fallback orders)
    quotes: list[Quote] = field(default_factory=list)  # the market's bid/ask after each move, from the start
    _first: list[str] = field(default_factory=list)   # every_kind_first: the kinds still to inject once
    _start_mid: Decimal | None = None
    _counting: dict[str, tuple[FaultRecord, int]] = field(default_factory=dict)  # sim fault -> (record, count)
    _rewatch: list[tuple[FaultRecord, object, list]] = field(default_factory=list)  # (record, killed at, accounts)
    _kill_claims: tuple[float, list[uuid.UUID]] | None = None  # killed_before_post under way: (deadline, intents)
    persons_cancels: list[str] = field(default_factory=list)  # orders a person cancelled before VALR's final word
    _persons_watch: tuple[FaultRecord, float] | None = None   # person_cancels_fallback: (its record, until)
    _persons_asked: set[str] = field(default_factory=set)
    _schedule: random.Random = field(init=False, repr=False)  # the seed's: which fault, when

    def __post_init__(self) -> None:
        self._schedule = self.rng  # `rng` becomes each drawn fault's own generator (step)
        self._next_at = self._schedule.expovariate(1 / self.plan.mean_gap_s)
        if self.plan.every_kind_first:
            self._first = self._schedule.sample(list(self.plan.kinds), len(self.plan.kinds))
        if self.plan.pg_restart and self.restart_pg is not None:
            self._pg_restart_at = self._schedule.uniform(0.3, 0.6) * self.plan.seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def counts(self) -> dict[str, int]:
        out = {kind: 0 for kind in FAULT_KINDS}
        for record in self.records:
            if record.kind in out:  # not `worker_crashed`: that is the monitor's doing, reported apart
                out[record.kind] += 1
        return out

    def _record(self, kind: str, detail: str, seconds: float | None = None, accepted: bool = False) -> None:
        at = round(self.elapsed(), 2)
        self.records.append(FaultRecord(at, kind, detail, until_s=None if seconds is None else at + seconds,
                                        accepted=accepted))

    # -- the loop's step ----------------------------------------------------------------------
    def step(self) -> None:
        """Called often by the driver: revert what is due, respawn killed workers, inject what is due."""
        now = self.elapsed()
        self._revert_due(now)
        self._respawn_due(now)
        self._correct_clocks_due(now)
        self.check_rewatch()
        self._kill_claimers_due(now)
        self._persons_cancel_due(now)
        if self._pg_restart_at is not None and now >= self._pg_restart_at:
            self._pg_restart_at = None
            self._inject("pg_restart")
        if now < self.plan.seconds and now >= self._next_at:
            if self._first:
                kind = self._first.pop(0)
            else:
                kinds = list(self.plan.kinds)
                kind = self._schedule.choices(kinds, [self._weight(k) for k in kinds])[0]
            # Its own generator: a draw that depends on the run's state (a choice among the workers
            # alive, a killed claimer's restart delay drawn once the claim is seen) shifts nothing after.
            self.rng = random.Random(self._schedule.getrandbits(64))
            self._inject(kind)
            self._next_at = now + self._schedule.expovariate(1 / self.plan.mean_gap_s)

    def _weight(self, kind: str) -> int:
        """A kind of weight 0 is drawn only when named (--faults): then as often as a common kind."""
        named = tuple(self.plan.kinds) != tuple(WEIGHTS)
        return WEIGHTS[kind] or (NAMED_WEIGHT if named else 0)

    def _inject(self, kind: str) -> None:
        getattr(self, f"_{kind}")()

    # -- the exchange's faults ----------------------------------------------------------------
    def _timed(self, name: str, value: object, seconds: float) -> None:
        self.sim.set_faults(**{name: value})
        self._revert_at[name] = self.elapsed() + seconds

    def _timed_count(self, kind: str, name: str, count: int, seconds: float, detail: str) -> None:
        """A count-down fault (the next `count` cancels …) that lapses after `seconds`; how many the
        exchange used up is noted on its record when it lapses."""
        self._note_unused(name)  # one still running is superseded: note what it used
        self._timed(name, count, seconds)
        self._record(kind, detail, seconds)
        self._counting[name] = (self.records[-1], count)

    def _note_unused(self, name: str) -> None:
        """Before a count-down fault is reverted: how many of it were used."""
        if name in self._counting:
            record, count = self._counting.pop(name)
            record.used = count - int(self.sim.set_faults().get(name) or 0)

    def _revert_due(self, now: float) -> None:
        defaults = {"drop_fraction": 0.0, "duplicate_fraction": 0.0, "reorder": False,
                    "resting_subaccounts": self.resting, "cancel_delay_ms": 0, "trade_silent": False,
                    "trade_down": False, "lose_cancel_answers": 0, "fill_before_cancel": 0, "trade_muted_pairs": []}
        for name, deadline in list(self._revert_at.items()):
            if now >= deadline:
                self._note_unused(name)
                self.sim.set_faults(**{name: defaults[name]})
                del self._revert_at[name]

    def _ws_closed(self) -> None:
        self.sim.set_faults(close_sockets=True)
        self._record("ws_closed", "every account WebSocket closed by the exchange")

    def _events_dropped(self) -> None:
        fraction, seconds = round(self.rng.uniform(0.2, 0.6), 2), round(self.rng.uniform(1, 4), 1)
        self._timed("drop_fraction", fraction, seconds)
        self._record("events_dropped", f"{fraction:.0%} of events silently lost for {seconds}s")

    def _events_duplicated(self) -> None:
        fraction, seconds = round(self.rng.uniform(0.2, 0.6), 2), round(self.rng.uniform(1, 4), 1)
        self._timed("duplicate_fraction", fraction, seconds)
        self._record("events_duplicated", f"{fraction:.0%} of events sent twice for {seconds}s")

    def _events_reordered(self) -> None:
        seconds = round(self.rng.uniform(1, 4), 1)
        self._timed("reorder", True, seconds)
        self._record("events_reordered", f"events delivered in swapped pairs for {seconds}s")

    def _rest_429_storm(self) -> None:
        seconds = round(self.rng.uniform(1.5, 5), 1)
        self.sim.set_faults(rest_error={"status": 429, "seconds": seconds, "retry_after": 1})
        self._record("rest_429_storm", f"every REST call answered 429 (Retry-After 1) for {seconds}s", seconds)

    def _rest_5xx(self) -> None:
        status, count = self.rng.choice((500, 502, 503, 504)), self.rng.randint(2, 12)
        self.sim.set_faults(rest_error={"status": status, "count": count})
        self._record("rest_5xx", f"the next {count} REST calls answered {status}")

    def _placement_timeout(self) -> None:
        count = self.rng.randint(1, 3)
        self.sim.set_faults(lose_placement_answers=count)
        self._record("placement_timeout", f"the next {count} placements accepted, their answers lost")

    def _crowded_subaccount(self) -> None:
        """Hundreds of orders inserted at once into one subaccount, resting on the exchange (nothing
        matches them) for a while; then the matching model plays them like any other order."""
        if "resting_subaccounts" in self._revert_at:
            self._record("crowded_subaccount", "skipped: a subaccount is already crowded")
            return
        count, seconds = self.rng.randint(200, 400), round(self.rng.uniform(5, 15), 1)
        intents = [uuid.UUID(int=self.rng.getrandbits(128), version=4) for _ in range(count)]
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            accounts = conn.execute("SELECT exchange_account_id, subaccount_id FROM lth_pvr.exchange_accounts "
                                    "WHERE exchange = 'valr' ORDER BY subaccount_id").fetchall()
            account, subaccount = self.rng.choice(accounts)
            self._timed("resting_subaccounts", [*self.resting, subaccount], seconds)
            conn.execute("""INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty)
                            SELECT %s, i, 'BTCZAR', 'BUY', 1100000, 0.0001 FROM unnest(%s::uuid[]) AS i
                            ON CONFLICT DO NOTHING""", (account, intents))
        self._record("crowded_subaccount", f"{count} orders inserted into subaccount {subaccount}, resting "
                                           f"on the exchange for {seconds}s")

    def _rest_429_long_storm(self, why: str = "") -> float:
        """Every REST call answered 429 with no Retry-After: the client waits for the next minute, up to
        3 times — a placement is held far past the 1–5 s storms above (issue 14)."""
        seconds = round(self.rng.uniform(20, 50), 1)
        self.sim.set_faults(rest_error={"status": 429, "seconds": seconds})
        self._record("rest_429_long_storm", f"every REST call answered 429 without Retry-After for {seconds}s{why}",
                     seconds)
        return seconds

    def _worker_joins_storm(self) -> None:
        """A long storm, and a worker joining during it that shares worker1's id (a restart, or a
        second process by mistake): it sees worker1's held placements and looks them up."""
        seconds = self._rest_429_long_storm(" (a worker joins during it)")
        joiner = WorkerProcess(f"joiner{len(self.joined) + 1}", self.workers[0].database_url, self.workers[0].sim_url,
                               self.workers[0].env["VALR_API_KEY"], self.workers[0].env["VALR_API_SECRET"],
                               self.workers[0].log_path.parent, self.workers[0].extra)  # its --worker-id too
        joiner.start()
        self.joined.append(joiner)
        self._record("worker_joins_storm", f"{joiner.name} started with worker id {self.workers[0].name} "
                     f"during a {seconds}s storm", seconds)

    def _delete_failures(self) -> None:
        """Cancels requested of open orders while their DELETEs fail: 503, 429 past the client's retries,
        no answer, or 202 then FAILED_CANCEL_ORDER. Each cancel must still end confirmed by VALR."""
        how = self.rng.choice(("503", "429", "no answer", "FAILED_CANCEL_ORDER"))
        count = self.rng.randint(2, 8)
        if how == "FAILED_CANCEL_ORDER":
            self.sim.set_faults(refuse_cancels=count)
        else:
            status = {"503": 503, "429": 429, "no answer": "drop"}[how]
            self.sim.set_faults(rest_error={"status": status, "count": count, "route": DELETE_ROUTE, "hold_s": 0.5})
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            asked = conn.execute(
                "SELECT count(*) FILTER (WHERE lth_pvr.request_cancel(exchange_order_id) = 'requested') FROM "
                "(SELECT exchange_order_id FROM lth_pvr.exchange_orders WHERE status = 'submitted' "
                " AND cancel_requested_at IS NULL ORDER BY random() LIMIT %s) o", (self.rng.randint(1, 4),)).fetchone()[0]
        self._record("delete_failures", f"the next {count} DELETEs fail ({how}); {asked} cancel(s) requested")

    def _clock_step(self) -> None:
        """One worker's clock steps 10 minutes forward for a few seconds, then is corrected."""
        index = self.rng.randrange(len(self.workers))
        seconds = round(self.rng.uniform(3, 10), 1)
        self._clock_file(index).write_text("600")
        self._clock_back_at[index] = self.elapsed() + seconds
        self._record("clock_step", f"{self.workers[index].name}'s clock +600 s for {seconds}s", seconds)

    def _clock_file(self, index: int):
        return self.workdir / f"{self.workers[index].name}.clock"

    def _correct_clocks_due(self, now: float) -> None:
        for index, at in list(self._clock_back_at.items()):
            if now >= at:
                self._clock_file(index).write_text("0")
                del self._clock_back_at[index]

    def _operator_edit(self) -> None:
        """SQL an operator might type by hand, as the superuser: it must be refused by its named rule."""
        what = self.rng.choice(sorted(OPERATOR_EDITS))
        statement, rule = OPERATOR_EDITS[what]
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
                changed = conn.execute(statement).rowcount
        except psycopg.errors.CheckViolation as exc:
            refused_by = exc.diag.constraint_name
            self._record("operator_edit", f"{what}: refused ({refused_by})", accepted=refused_by != rule)
            return
        # Nothing to edit yet (no submitted order, no fill) is no finding; a change that went through is.
        self._record("operator_edit", f"{what}: {'ACCEPTED' if changed else 'nothing to edit yet'}",
                     accepted=bool(changed))

    def _intent_insert(self) -> None:
        """A valr_operator member's plain INSERT of the whole ask again for an intent already executing:
        it must be refused by the intent invariant's named rule (issue 21)."""
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute("SET ROLE valr_operator")
                found = conn.execute(INTENT_UNDER_WAY).fetchone()
                if found is None:
                    self._record("intent_insert", "nothing to insert yet: no intent has executed")
                    return
                account, intent, side, asked = found
                what = f"market {asked} for intent {intent}"
                try:
                    conn.execute("INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, "
                                 "qty, order_type) VALUES (%s, %s, %s, %s, %s, 'market')",
                                 (account, intent, PAIR, side, asked))
                except psycopg.errors.CheckViolation as exc:
                    refused_by = exc.diag.constraint_name
                    self._record("intent_insert", f"{what}: refused ({refused_by})",
                                 accepted=refused_by != INTENT_INSERT_RULE)
                    return
                self._record("intent_insert", f"{what}: ACCEPTED", accepted=True)
        except psycopg.OperationalError as exc:  # PostgreSQL restarting: nothing was tried
            self._record("intent_insert", f"skipped: database unreachable ({type(exc).__name__})")

    # -- the fallback path (issue 16) ----------------------------------------------------------
    def _cancel_answer_lost(self) -> None:
        count, seconds = self.rng.randint(1, 3), round(self.rng.uniform(5, 15), 1)
        self._timed_count("cancel_answer_lost", "lose_cancel_answers", count, seconds,
                          f"the next {count} cancels carried out, their answers lost (within {seconds}s)")

    def _fill_races_cancel(self) -> None:
        count, seconds = self.rng.randint(1, 2), round(self.rng.uniform(5, 15), 1)
        self._timed_count("fill_races_cancel", "fill_before_cancel", count, seconds,
                          f"the next {count} cancelled orders fill completely before the cancel (within {seconds}s)")

    def _cancel_delay(self) -> None:
        delay, seconds = self.rng.randint(200, 1500), round(self.rng.uniform(3, 10), 1)
        self._timed("cancel_delay_ms", delay, seconds)
        self._record("cancel_delay", f"cancels complete (and free their funds) {delay} ms after their 202 "
                                     f"for {seconds}s", seconds)

    def _trade_socket_dropped(self) -> None:
        if self.rng.random() < 0.5:
            self.sim.set_faults(close_trade_sockets=True)
            self._record("trade_socket_dropped", "every trade WebSocket closed by the exchange")
            return
        seconds = round(self.rng.uniform(3, 12), 1)
        self._timed("trade_down", True, seconds)
        self._record("trade_socket_dropped", f"trade WebSockets closed and refused (503) for {seconds}s", seconds)

    def _trade_socket_silent(self) -> None:
        seconds = round(self.rng.uniform(5, 35), 1)
        self._timed("trade_silent", True, seconds)
        self._record("trade_socket_silent", f"trade WebSockets open but silent for {seconds}s", seconds)

    def _trade_pair_muted(self) -> None:
        seconds = round(self.rng.uniform(3, 12), 1)
        self._timed("trade_muted_pairs", [PAIR], seconds)
        self._record("trade_pair_muted", f"{PAIR} left out of the trade WebSockets' frames for {seconds}s", seconds)

    def _price_spike(self) -> None:
        """The market spikes against the resting price-fallback orders of one side for 0-50 ms, then
        returns: one frame past their thresholds, then the frame of the market as it was."""
        side, resting = self._most_resting_side()
        size, ms = self.rng.uniform(0.01, SPIKE_LIMIT), self.rng.randint(0, 50)
        fraction = round(size if side == "BUY" else -size, 4)
        ended = self.sim.call(lambda: len(self.sim.sim.spike_reverts))
        at = time.time()
        summary = self.sim.call(self.sim.sim.set_market, PAIR, spike=str(fraction), spike_ms=ms)
        self.quotes.append(Quote(at, Decimal(summary["bidPrice"]), Decimal(summary["askPrice"])))
        # The spike's end, as the exchange stamped it (the intent check measures how long it held, and
        # the next order is priced from the market as it is again).
        revert = wait_for(lambda: self.sim.call(lambda: self.sim.sim.spike_reverts[ended:]), 5, "the spike's end",
                          interval=0.005)[0]
        self.quotes.append(Quote(revert["at"], Decimal(revert["bid"]), Decimal(revert["ask"])))
        self._record("price_spike", f"{PAIR} {fraction:+.2%} for {ms} ms (against {resting} resting "
                                    f"price-fallback {side}s), then back after "
                                    f"{(revert['at'] - at) * 1000:.0f} ms")

    def _most_resting_side(self) -> tuple[str, int]:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            resting = dict(conn.execute(
                "SELECT side, count(*) FROM lth_pvr.exchange_orders WHERE status = 'submitted' "
                "AND fallback_price_move IS NOT NULL AND fallback_requested_at IS NULL GROUP BY 1").fetchall())
        side = max(("BUY", "SELL"), key=lambda s: (resting.get(s, 0), self.rng.random()))
        return side, resting.get(side, 0)

    # -- a person's cancel racing a fallback (issue 21) ------------------------------------------
    def _person_cancels_fallback(self) -> None:
        delay, seconds = self.rng.randint(300, 1500), round(self.rng.uniform(3, 10), 1)
        self._timed("cancel_delay_ms", delay, seconds)
        self._record("person_cancels_fallback", f"for {seconds}s (cancels completing {delay} ms after their 202) "
                                                f"a person cancels every order whose fallback has just fired", seconds)
        self.records[-1].used = 0
        self._persons_watch = (self.records[-1], self.elapsed() + seconds)

    def _persons_cancel_due(self, now: float) -> None:
        """While a person_cancels_fallback fault runs: request_cancel on each order whose fallback fired
        and is still undecided (VALR has not finished it). Every one the cancel reached before VALR's final
        word (any answer but `terminal`) must end without a replacement; the record counts `fallback_off`."""
        if self._persons_watch is None:
            return
        record, until = self._persons_watch
        if now >= until:
            if record.used or now >= self.plan.seconds:
                self._persons_watch = None
                return
            # No fallback met in flight yet: keep watching (cancels still late) until one is, or the
            # faulty part of the run ends — the class is there to make that race happen.
            self._persons_watch = (record, now + 1.0)
            self._timed("cancel_delay_ms", self.sim.set_faults().get("cancel_delay_ms") or 1000, 1.0)
            record.until_s = round(now + 1.0, 2)
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
                self._persons_cancel(conn, record)
        except psycopg.OperationalError:
            return  # PostgreSQL restarting (pg_restart): the person tries again at the next step

    def _persons_cancel(self, conn: psycopg.Connection, record: FaultRecord) -> None:
        fired = [row[0] for row in conn.execute(
            "SELECT exchange_order_id::text FROM lth_pvr.exchange_orders WHERE status = 'submitted' "
            "AND fallback_requested_at IS NOT NULL AND fallback_outcome IS NULL").fetchall()]
        for order_id in fired:
            if order_id in self._persons_asked:
                continue
            answer = conn.execute("SELECT lth_pvr.request_cancel(%s)", (order_id,)).fetchone()[0]
            self._persons_asked.add(order_id)  # asked and answered (a lost answer is asked again)
            if answer != "terminal":  # VALR's word came first: the replacement was its due
                self.persons_cancels.append(order_id)
            record.used = (record.used or 0) + (answer == "fallback_off")

    def remember_market(self) -> Quote:
        """The market now, as the intent check's record of what the harness made it."""
        summary = self.sim.call(lambda: self.sim.sim.market.quote(PAIR).summary())
        quote = Quote(time.time(), Decimal(summary["bidPrice"]), Decimal(summary["askPrice"]))
        self.quotes.append(quote)
        if self._start_mid is None:
            self._start_mid = (quote.bid + quote.ask) / 2
        return quote

    def _price_jump(self) -> None:
        """The market jumps against the resting price-fallback orders of one side (mostly 1–3 %: their
        triggers fire) or, sometimes, a little (0.3–1 %) in their favour (nothing may fire). Up hurts
        BUYs and helps SELLs; the mid stays within JUMP_LIMIT of where it started."""
        side, count = self._most_resting_side()
        against = self.rng.random() < 0.7
        size = self.rng.uniform(0.01, 0.03) if against else self.rng.uniform(0.003, 0.01)
        up = (side == "BUY") == against
        before = self.quotes[-1] if self.quotes else self.remember_market()
        mid = (before.bid + before.ask) / 2
        if self._start_mid and abs(mid * Decimal(1 + (size if up else -size)) / self._start_mid - 1) > JUMP_LIMIT:
            up, against = not up, not against  # back towards the start instead
        fraction = round(size if up else -size, 4)
        at = time.time()  # before the move: nothing can have seen the new price earlier
        summary = self.sim.call(self.sim.sim.set_market, PAIR, jump=str(fraction))
        self.quotes.append(Quote(at, Decimal(summary["bidPrice"]), Decimal(summary["askPrice"])))
        self._record("price_jump", f"{PAIR} {fraction:+.2%} ({'against' if against else 'in favour of'} "
                                   f"{count} resting price-fallback {side}s): bid "
                                   f"{summary['bidPrice']}, ask {summary['askPrice']}")

    # -- the monitor's own processes ----------------------------------------------------------
    def _killed_before_post(self) -> None:
        """Market orders (a fallback's replacement is one) inserted into a subaccount of their own while
        the exchange holds new account sockets unauthenticated: the worker claims them and waits for
        the socket before sending; it is killed then (below, once the claim is seen), before any POST."""
        if self._kill_claims is not None:
            self._record("killed_before_post", "skipped: one is under way")
            return
        intents = [uuid.UUID(int=self.rng.getrandbits(128), version=4) for _ in range(self.rng.randint(1, 2))]
        sub = str(9_000_000 + self.rng.randrange(1_000_000))
        self.sim.set_faults(hold_authentication=True)
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            account = conn.execute(
                "INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES (%s, 'chaos killed claim') "
                "ON CONFLICT (exchange, upper(coalesce(credential_ref, exchange)), subaccount_id) DO UPDATE SET label = EXCLUDED.label RETURNING exchange_account_id",
                (sub,)).fetchone()[0]
            for intent in intents:
                conn.execute("INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, qty, "
                             "order_type) VALUES (%s, %s, %s, %s, %s, 'market') ON CONFLICT DO NOTHING",
                             (account, intent, PAIR, self.rng.choice(("BUY", "SELL")),
                              f"0.000{self.rng.randint(1, 3)}"))
        self._kill_claims = (self.elapsed() + 8.0, intents)

    def _kill_claimers_due(self, now: float) -> None:
        """killed_before_post's second half: once its orders are claimed and not sent, SIGKILL the claimer
        (restarted 1–4 s later) and let the exchange authenticate sockets again."""
        if self._kill_claims is None:
            return
        deadline, intents = self._kill_claims
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            claimers = {r[0] for r in conn.execute(
                "SELECT claimed_by FROM lth_pvr.exchange_orders WHERE intent_id = ANY (%s) AND status = 'placing' "
                "AND placement_sent_at IS NULL", (intents,))}
        if not claimers and now < deadline:
            return
        self._kill_claims = None
        killed = []
        for index, worker in enumerate(self.workers):
            if worker.name in claimers and worker.alive and index not in self._respawn_at:
                worker.kill()
                self._respawn_at[index] = now + round(self.rng.uniform(1, 4), 1)
                killed.append(worker.name)
        self.sim.set_faults(hold_authentication=False)
        self._record("killed_before_post", f"{len(intents)} market order(s) claimed, unsent: "
                     + (f"{', '.join(killed)} killed before the POST" if killed else "no claimer to kill"))
        self.records[-1].orders = [str(i) for i in intents]

    def _worker_sigkill(self) -> None:
        alive = [i for i, w in enumerate(self.workers) if w.alive and i not in self._respawn_at]
        if len(alive) < 2:  # keep one worker up: the point is takeover, not an outage
            self._record("worker_sigkill", "skipped: only one worker alive")
            return
        index = self.rng.choice(alive)
        delay = round(self.rng.uniform(1, 4), 1)
        pid = self.workers[index].proc.pid if self.workers[index].proc else None
        self.workers[index].kill()
        self._respawn_at[index] = self.elapsed() + delay
        self._record("worker_sigkill", f"{self.workers[index].name} (pid {pid}) killed; restart in {delay}s")

    def _worker_restart_same_id(self) -> None:
        """A worker SIGKILLed and restarted at once under its own --worker-id (systemd after kill -9):
        the subaccounts it leased must be watched again (an authenticated session, by it or another
        worker) within REWATCH_LIMIT_S, not after its dead process's leases expire."""
        alive = [i for i, w in enumerate(self.workers) if w.alive and i not in self._respawn_at]
        if not alive:
            self._record("worker_restart_same_id", "skipped: no worker alive")
            return
        worker = self.workers[self.rng.choice(alive)]
        pid = worker.proc.pid if worker.proc else None
        worker.kill()  # first: a session counts as watching again only if authenticated after this
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            killed_at = conn.execute("SELECT now()").fetchone()[0]
            accounts = [a for (a,) in conn.execute(  # a dead process's leases stay its id's until they expire
                "SELECT exchange_account_id FROM lth_pvr.subaccount_leases WHERE worker_id = %s AND expires_at > now()",
                (worker.name,)).fetchall()]
        worker.start()
        self._record("worker_restart_same_id", f"{worker.name} (pid {pid}) killed and restarted at once under its "
                                               f"own id, holding {len(accounts)} lease(s)")
        self._rewatch.append((self.records[-1], killed_at, accounts))

    def check_rewatch(self) -> None:
        """Each restart's subaccounts that still have open orders: watched again since the kill?"""
        if not self._rewatch:
            return
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            for entry in list(self._rewatch):
                record, killed_at, accounts = entry
                waiting = conn.execute(
                    """SELECT count(*) FROM unnest(%s::uuid[]) AS a(id)
                        WHERE EXISTS (SELECT 1 FROM lth_pvr.exchange_orders o WHERE o.exchange_account_id = a.id
                                         AND o.status IN ('placing', 'submitted'))
                          AND NOT EXISTS (SELECT 1 FROM lth_pvr.ws_sessions s WHERE s.exchange_account_id = a.id
                                             AND s.authenticated_at > %s)""", (accounts, killed_at)).fetchone()[0]
                took = round(self.elapsed() - record.at_s, 1)
                # A REST storm while it starts holds the start's clock check for as long as VALR answers
                # nothing (by design: no placement on an unchecked clock): the limit counts from VALR's answers.
                limit = REWATCH_LIMIT_S + self._rest_storm_s(record.at_s, self.elapsed())
                if waiting == 0:
                    record.rewatch_s = took
                    self._rewatch.remove(entry)
                elif took > limit:
                    record.late = True
                    record.detail += f"; {waiting} subaccount(s) NOT watched again within {limit:g}s"
                    self._rewatch.remove(entry)

    def _rest_storm_s(self, start_s: float, end_s: float) -> float:
        """Seconds of start_s..end_s during which every REST call was answered 429 (the storms' union)."""
        spans = sorted((max(r.at_s, start_s), min(r.until_s, end_s)) for r in self.records
                       if r.kind.startswith("rest_429") and r.until_s is not None and r.until_s > start_s
                       and r.at_s < end_s)
        total, reached = 0.0, start_s
        for begin, end in spans:
            begin = max(begin, reached)
            if end > begin:
                total, reached = total + end - begin, end
        return total

    def _respawn_due(self, now: float) -> None:
        for index, at in list(self._respawn_at.items()):
            if now >= at:
                self.workers[index].start()
                del self._respawn_at[index]

    def _listen_terminated(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            n = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s", ("valr-monitor-listener",)).fetchone()[0]
        self._record("listen_terminated", f"{n} LISTEN connection(s) terminated")

    def _pg_restart(self) -> None:
        assert self.restart_pg is not None
        began = time.monotonic()
        self.restart_pg()
        self._record("pg_restart", f"PostgreSQL restarted (fast shutdown) in {time.monotonic() - began:.1f}s")

    # -- the end ------------------------------------------------------------------------------
    def heal(self) -> None:
        """Clear every fault and bring every worker back, for the final safety-net pass (the resting
        subaccounts' orders go to the matching model too)."""
        for name in list(self._counting):
            self._note_unused(name)
        self.sim.set_faults(reset=True)
        self._kill_claims = None
        self._revert_at.clear()
        for index in list(self._clock_back_at):
            self._clock_file(index).write_text("0")
        self._clock_back_at.clear()
        for index, worker in enumerate(self.workers):
            if not worker.alive:
                worker.start()
            self._respawn_at.pop(index, None)
        self._pg_restart_at = None
        self._persons_watch = None

    def timeline(self) -> list[str]:
        return [r.line() for r in self.records]
