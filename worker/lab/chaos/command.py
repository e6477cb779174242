"""`valr-monitor chaos`: the soak that shows nothing is lost and nothing is doubled under what
production does to the monitor.

Starts PostgreSQL (embedded, durable, pg_cron; or --database-url), the VALR simulator in auto mode
and two worker processes (least-privilege login role, short lease TTL), inserts N orders across many
subaccounts over the run, and injects seeded faults (see chaos_faults). Meanwhile the safety net's
cron SQL runs every --cron-every seconds, every submitted order due at each (time compressed by the
run's settings, never by the tick's clock: run_settings).
A share of the orders (--fallback-share) are limit orders with a limit → market fallback (issue 16):
some placed away from the market with a short fallback_after, some near it with a fallback_price_move
that the price_jump fault fires; half of them in subaccounts whose orders rest (the matching model
leaves them to the market), half where the matching model may fill them while the fallback cancels.
Money moves all run too, with the history faults (chaos.ledger: deposits, withdrawals, transfers;
history records dropped, doubled, reordered, a page boundary between two same-time transactions, fills
off the order socket).
At the end every fault is cleared and the safety net ticks until every order is final; the database
is then compared with the simulator's ground truth, and every intent checked (chaos.intents); then a
final ledger sync of every account, and every transaction and balance compared (truth.check_ledger).
Exit 0 only when placed twice, fills lost, fills doubled, status mismatches, intent violations,
transactions lost, doubled or differing, balances differing and deposits not notified once are all 0,
and every order settled.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from worker.db import dsn
from worker.lab import truth as truth_check
from worker.lab.run_settings import settings_for_the_run
from worker.lab.chaos import intents as intent_check
from worker.lab.chaos.faults import CLOCK_OFFSET_FILE_ENV, WEIGHTS, FaultInjector, FaultPlan, FaultRecord
from worker.lab.chaos.fallback_orders import fallback_fault_classes, insert_fallback_order, plan_fallbacks
from worker.lab.chaos.exchanges import ExchangeStream
from worker.lab.chaos.ledger import DepositListener, LedgerStream, final_catch_up
from worker.lab.demo_exchanges import start_venues, worker_env
from worker.lab.worker_process import WorkerProcess, wait_for
from worker.lab.chaos.report import first_problem_order, lag_by_fault_class, lag_figures, order_story, rest_figures
from worker.lab.demo import Progress
from worker.lab.interrupt import exit_cleanly_on_interrupt
from worker.options import database_url_option, json_option

OPEN = ("pending", "placing", "submitted")
WORKER_ROLE = "valr_chaos_worker"
# A ledger sync claimed by a SIGKILLed worker is handed out again after this (production: 300 s).
LEDGER_CLAIM_S = 15
# A REST look-up claimed by a process that never recorded it (killed, its lease or socket lost, a
# joiner sharing the id) is handed out again after this (production: 120 s, poll_claim_seconds).
POLL_CLAIM_S = 15
SIM_OPEN = ("Accepted", "Placed", "Partially Filled", "Active", "Order Modified")


@dataclass
class ChaosPlan:
    orders: int = 200
    minutes: float = 2.0
    seed: int = 0
    subaccounts: int = 20
    workers: int = 2
    fault_every_s: float = 3.0       # mean gap between two faults
    cron_every_s: float = 20.0       # the safety net's cron tick, time-compressed
    fill_delay_s: float = 1.5        # simulator: mean delay before each fill
    placement_grace_s: int = 30      # settings.placement_grace_seconds for the run (production: 120)
    settle_timeout_s: float = 240.0  # the final pass gives up after this long
    lease_ttl_s: int = 5
    fallback_share: float = 0.3      # share of the orders that are limit orders with a fallback
    fallback_subaccounts: int = 2    # subaccounts whose orders rest all run (half the fallback orders)
    fault_kinds: tuple[str, ...] = tuple(WEIGHTS)
    every_kind_first: bool = False
    exchange_orders: int = 30        # orders on Binance, Kraken and Coinbase (their doubles); 0: VALR only


class Sql:
    """The harness's own connection: survives the PostgreSQL restart by reconnecting and retrying.
    Statements are idempotent (inserts use fixed intent ids and ON CONFLICT DO NOTHING)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: psycopg.Connection | None = None

    def rows(self, query: str | sql.Composable, params: tuple = (), attempts: int = 60) -> list[tuple]:
        for attempt in range(attempts):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                cur = self.conn.execute(query, params)
                return cur.fetchall() if cur.description else []
            except psycopg.OperationalError:
                with contextlib.suppress(Exception):
                    if self.conn is not None:
                        self.conn.close()
                self.conn = None
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@dataclass(frozen=True)
class PlannedOrder:
    account: int
    intent: uuid.UUID
    side: str
    price: int
    qty: str


def plan_orders(rng: random.Random, count: int, subaccounts: int) -> list[PlannedOrder]:
    """The run's orders, drawn from the seed: same seed, same orders (intent ids included)."""
    return [PlannedOrder(account=rng.randrange(subaccounts), intent=uuid.UUID(int=rng.getrandbits(128), version=4),
                         side=rng.choice(("BUY", "SELL")), price=rng.randrange(1_100_000, 1_200_000, 100),
                         qty=f"0.000{rng.randint(1, 9)}")
            for _ in range(count)]


def create_accounts(db: Sql, count: int, seed: int, base: int = 7_000_000,
                    label: str = "chaos customer") -> list[uuid.UUID]:
    ids = []
    for i in range(count):
        ids.append(db.rows(
            "INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES (%s, %s) "
            "ON CONFLICT (exchange, upper(coalesce(credential_ref, exchange)), subaccount_id) DO UPDATE SET label = EXCLUDED.label RETURNING exchange_account_id",
            (subaccount_id(seed, i, base), f"{label} {i + 1}"))[0][0])
    return ids


def subaccount_id(seed: int, index: int, base: int = 8_000_000) -> str:
    """Subaccount ids of the run: customers from 7,000,000, the resting fallback subaccounts from 8,000,000."""
    return f"{base + (seed % 1000) * 1000 + index}"


def insert_order(db: Sql, accounts: list[uuid.UUID], order: PlannedOrder) -> None:
    """What a person (or a strategy) types in psql; a retry after a lost answer is a no-op."""
    db.rows("""INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty)
               VALUES (%s, %s, 'BTCZAR', %s, %s, %s) ON CONFLICT DO NOTHING""",
            (accounts[order.account], order.intent, order.side, order.price, order.qty))


def worker_url(db: Sql, url: str) -> tuple[str, str]:
    """A login role that is only a member of valr_worker (least privilege under chaos too). When the
    database is not ours to add roles to, the workers use the given URL."""
    try:
        role = sql.Identifier(WORKER_ROLE)
        db.rows(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        db.rows(sql.SQL("CREATE ROLE {} LOGIN IN ROLE valr_worker").format(role))
    except psycopg.Error:
        return url, "the given database URL's role"
    params = conninfo_to_dict(url)
    params.pop("password", None)
    params["user"] = WORKER_ROLE
    return make_conninfo(**params), f"role {WORKER_ROLE} (member of valr_worker only)"


def run_settings(plan: ChaosPlan) -> dict[str, float]:
    """The settings of the run (restored after it): production's schedule, compressed."""
    return {"placement_grace_seconds": plan.placement_grace_s, "ledger_sync_claim_seconds": LEDGER_CLAIM_S,
            "poll_claim_seconds": POLL_CLAIM_S,
            "poll_recent_minutes": 0}  # every tick finds every submitted order due, as the next 10-minute tick


def safety_net_tick(db: Sql) -> None:
    """One tick of the safety net's cron job (`safety_net_tick`), time-compressed by the run's settings
    (poll_recent_minutes 0), never by its clock: a clock moved ahead tells the tick's other rules that
    every live worker is lost (`retire_lost_workers` closes its sessions and drops its leases, which
    the workers then pass around), that their claims not yet sent were abandoned
    (`requeue_unsent_placements`) and that age fallbacks are due early."""
    db.rows("SELECT lth_pvr.safety_net_tick()")


def open_order_waits(db: Sql) -> list[dict]:
    """What each order still open waits for, in the database's words: its account's lease holder and
    its look-up — due, claimed by whom for how many seconds more (poll_claim_seconds), the last poll's
    outcome. The final pass reports these when it does not settle (and shows the claims held as it goes)."""
    rows = db.rows("""
        SELECT o.exchange_order_id::text, o.status, a.subaccount_id, l.worker_id, o.poll_due_at IS NOT NULL,
               o.poll_claimed_by,
               round(extract(epoch FROM o.poll_claimed_at - now()) + lth_pvr.setting('poll_claim_seconds'), 1),
               o.poll_count,
               (SELECT e.outcome || coalesce(': ' || left(e.detail, 80), '') FROM lth_pvr.order_events e
                 WHERE e.exchange_order_id = o.exchange_order_id AND e.kind = 'poll'
                 ORDER BY e.event_id DESC LIMIT 1)
          FROM lth_pvr.exchange_orders o
          JOIN lth_pvr.exchange_accounts a ON a.exchange_account_id = o.exchange_account_id
          LEFT JOIN lth_pvr.live_leases(now()) l ON l.exchange_account_id = o.exchange_account_id
         WHERE lth_pvr.is_open(o.status)
         ORDER BY o.submitted_at NULLS LAST, o.exchange_order_id""")
    keys = ("order", "status", "subaccount", "lease_holder", "poll_due", "poll_claimed_by", "claim_held_s",
            "polls", "last_poll")
    return [dict(zip(keys, row)) for row in rows]


def counts(db: Sql) -> dict[str, int]:
    out = {s: 0 for s in (*OPEN, "filled", "cancelled", "failed")}
    out.update(dict(db.rows("SELECT status, count(*) FROM lth_pvr.exchange_orders GROUP BY 1")))
    out["fills"] = db.rows("SELECT count(*) FROM lth_pvr.order_fills")[0][0]
    return out


def progress_line(c: dict[str, int], total: int, elapsed: float, faults: int, phase: str) -> str:
    done = c["filled"] + c["cancelled"] + c["failed"]
    return (f"{phase:<7} {elapsed:6.1f}s  orders {sum(c[s] for s in c if s != 'fills')}/{total}  final {done}  "
            f"open {c['submitted']}  pending/placing {c['pending'] + c['placing']}  fills {c['fills']}  "
            f"faults {faults}")


def mismatch_kinds(check: truth_check.TruthCheck) -> dict[str, int]:
    """Status mismatches by kind ("database failed / exchange Filled": 12), to see the pattern at once."""
    kinds: Counter[str] = Counter()
    for text in check.status_mismatch:
        m = re.search(r"database (\S+) filled \S+, exchange (.+) filled", text)
        kinds[f"database {m.group(1)} / exchange {m.group(2)}" if m else "other"] += 1
    kinds.update({"not in database": len(check.not_in_database)} if check.not_in_database else {})
    return dict(kinds.most_common())


def worker_warnings(paths: list[Path]) -> dict[str, int]:
    """WARNING/ERROR lines in the workers' logs, counted by message (what the workers had to survive)."""
    found: Counter[str] = Counter()
    pattern = re.compile(r"\s(WARNING|ERROR|CRITICAL)\s+\S+: (.*?)(?= \w+=|$)")
    for path in paths:
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                m = pattern.search(line)
                if m:
                    found[f"{m.group(1).lower()}: {m.group(2)[:80]}"] += 1
                elif line.startswith("Traceback"):
                    found["traceback"] += 1
    return dict(found.most_common(15))


class Chaos:
    def __init__(self, plan: ChaosPlan, out: Progress) -> None:
        self.plan = plan
        self.out = out
        self.rng = random.Random(plan.seed)
        self.venues: list = []     # the other exchanges' doubles (chaos.exchanges)
        self.others: ExchangeStream | None = None

    def run(self, database_url: str | None) -> tuple[int, dict]:
        from worker.db.migrate import migrate
        from worker.lab.sim import SimConfig, SimulatorThread

        plan, out = self.plan, self.out
        key, secret = "chaos-key", uuid.UUID(int=random.getrandbits(128)).hex * 2
        workdir = Path(tempfile.mkdtemp(prefix="valr-chaos-"))
        ok = False
        with contextlib.ExitStack() as stack:
            pg = None
            if database_url is None:
                from worker.lab.embedded import EmbeddedPostgres

                pg = stack.enter_context(EmbeddedPostgres(durable=True))
                database_url = pg.url()
                out.note(f"embedded PostgreSQL (durable, pg_cron) at {database_url}")
            else:
                out.note(f"using {dsn.redact(database_url)}: no PostgreSQL restart (not ours to restart)")
            migrate(database_url)
            db = Sql(database_url)
            stack.callback(db.close)
            settings_for_the_run(stack, database_url, run_settings(plan))
            url_for_workers, who = worker_url(db, database_url)
            sim = stack.enter_context(SimulatorThread(key, secret, config=SimConfig(
                mode="auto", fill_delay_s=plan.fill_delay_s, fills_per_order=(1, 3), cancel_fraction=0.1,
                expire_fraction=0.05, fail_fraction=0.05, seed=plan.seed)))
            out.note(f"VALR simulator (auto matching, seed {plan.seed}) at {sim.base_url}")
            self.venues = start_venues(stack, paced=True) if plan.exchange_orders else []
            if self.venues:
                out.note("exchange doubles through ccxt: " + ", ".join(v.name for v in self.venues))
            workers = [WorkerProcess(f"worker{i + 1}", url_for_workers, sim.base_url, key, secret, workdir,
                                     ("--lease-ttl", str(plan.lease_ttl_s), "--catch-up", "2",
                                      "--worker-id", f"worker{i + 1}"), env=worker_env(self.venues))
                       for i in range(plan.workers)]
            for w in workers:
                clock = workdir / f"{w.name}.clock"  # the clock_step fault writes its offset here
                clock.write_text("0")
                w.env[CLOCK_OFFSET_FILE_ENV] = str(clock)
                w.start()
                stack.callback(w.stop)
            out.note(f"{plan.workers} workers started as {who}; logs in {workdir}")
            resting = [subaccount_id(plan.seed, i) for i in range(plan.fallback_subaccounts)]
            sim.set_faults(resting_subaccounts=resting)
            injector = FaultInjector(self.rng, FaultPlan(seconds=plan.minutes * 60, mean_gap_s=plan.fault_every_s,
                                                         kinds=plan.fault_kinds,
                                                         every_kind_first=plan.every_kind_first),
                                     sim, workers, database_url, pg.restart if pg is not None else None,
                                     workdir=workdir, resting=resting)
            injector.remember_market()
            result = self._drive(db, sim, injector, workers)
            for w in workers + injector.joined:
                w.stop()
            self._audit(result, database_url, sim.base_url, key, secret)
            result["worker_log_warnings"] = worker_warnings([w.log_path for w in workers])
            result["workdir"] = str(workdir)
            ok = result["ok"]
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
            result["workdir"] = None
        return (0 if ok else 1), result

    def _drive(self, db: Sql, sim, injector: FaultInjector, workers: list[WorkerProcess]) -> dict:
        plan, out = self.plan, self.out
        accounts = create_accounts(db, plan.subaccounts, plan.seed)
        resting = create_accounts(db, plan.fallback_subaccounts, plan.seed, 8_000_000, "chaos resting")
        orders = plan_orders(self.rng, plan.orders, plan.subaccounts)
        fallbacks = plan_fallbacks(plan.seed, plan.orders, plan.fallback_share, plan.fallback_subaccounts)

        def insert(index: int) -> None:
            order, fallback = orders[index], fallbacks.get(index)
            if fallback is None:
                insert_order(db, accounts, order)
                return
            account = accounts[order.account] if fallback.resting is None else resting[fallback.resting]
            insert_fallback_order(db, account, order, fallback, injector.quotes[-1])
        faulty_s = plan.minutes * 60
        customers = {subaccount_id(plan.seed, i, 7_000_000): a for i, a in enumerate(accounts)}
        listener = DepositListener(db.url).start()
        money = LedgerStream(random.Random(plan.seed * 7919 + 23), sim, list(customers), customers, db.rows,
                             injector._record, faulty_s)
        others = self.others = (ExchangeStream(random.Random(plan.seed * 104729 + 5), self.venues, db.rows,
                                               plan.fallback_share) if self.venues else None)
        elsewhere = 0  # orders inserted on the other exchanges
        started = time.monotonic()
        inserted, next_cron, cron_ticks, crashes = 0, plan.cron_every_s, 0, 0
        last_show = 0.0
        # The run: orders spread over the first 80 % of it, faults throughout.
        while (elapsed := time.monotonic() - started) < faulty_s:
            due = min(plan.orders, int(plan.orders * min(1.0, elapsed / (0.8 * faulty_s))) + 1)
            while inserted < due:
                insert(inserted)
                inserted += 1
            if others is not None:
                while elsewhere < min(plan.exchange_orders, int(plan.exchange_orders * elapsed / (0.8 * faulty_s)) + 1):
                    others.insert()
                    elsewhere += 1
                others.step(fault_chance=0.1 / plan.fault_every_s)  # about one per fault_every, as VALR's
            injector.step()
            money.step()
            crashes += self._restart_crashed(workers, injector)
            if elapsed >= next_cron:
                safety_net_tick(db)
                cron_ticks += 1
                next_cron += plan.cron_every_s
            if elapsed - last_show >= 1.0:
                out.show(progress_line(counts(db), plan.orders, elapsed, len(injector.records), "chaos"))
                last_show = elapsed
            time.sleep(0.1)
        while inserted < plan.orders:
            insert(inserted)
            inserted += 1
        injector.heal()
        if others is not None:
            while elsewhere < plan.exchange_orders:
                others.insert()
                elsewhere += 1
            others.heal()
        out.note(f"faults cleared after {time.monotonic() - started:.0f}s: "
                 + ", ".join(f"{k} {v}" for k, v in injector.counts().items() if v))
        settle = self._settle(db, sim, injector, workers)
        crashes += settle.pop("crashes")
        ledger = self._ledger_truth(db, sim, money, listener)
        truth = sim.truth()
        with psycopg.connect(db.url) as conn:
            check = truth_check.check(conn, truth)
            intents = intent_check.check_intents(truth, intent_check.load_orders(conn), injector.quotes,
                                                 injector.persons_cancels)
            lag = lag_figures(conn, truth)
            first = first_problem_order(check, truth) or intents.first_intent
            story = order_story(conn, truth, first) if first else []
        c = counts(db)
        summary = check.summary()
        all_final = c["pending"] + c["placing"] + c["submitted"] == 0
        classes = fault_class_outcomes(db, truth, injector.records)
        classes.update(fallback_fault_classes(intents, injector.records, sim.counters()))
        lag["lag_by_fault_class"] = lag_by_fault_class(lag.pop("samples"), injector.records)
        exchanges = others.check(db.url) if others is not None else {"ok": True, "orders": 0}
        result = {
            "ok": bool(check.ok and intents.ok and all_final and settle["settled"] and ledger["ok"] and exchanges["ok"]
                       and not any(cls["mismatches"] for cls in classes.values())),
            "ledger": ledger,
            "exchanges": exchanges,
            "fault_classes": classes,
            "fallback_orders": len(fallbacks),
            "intent_check": intents.summary(),
            "seed": plan.seed, "plan": asdict(plan),
            "orders": plan.orders, "fills": summary["fills"],
            "orders_on_exchange": len(truth["orders"]),
            "orders_by_status": {s: c[s] for s in (*OPEN, "filled", "cancelled", "failed")},
            "fills_in_database": c["fills"],
            "faults": injector.counts(),
            "placed_twice": summary["placed_twice"], "fills_lost": summary["fills_lost"],
            "fills_doubled": summary["fills_doubled"], "status_mismatch": summary["status_mismatch"],
            "status_mismatch_kinds": mismatch_kinds(check),
            "never_placed_failed": self._never_placed(db, truth),
            **lag,
            **rest_figures(sim.counters(), truth),
            "cron_ticks_during_run": cron_ticks, **settle,
            # Open-orders lists the workers dropped, superseded by a newer one (crowded subaccounts).
            "lists_superseded": int(db.rows("SELECT coalesce(sum(superseded), 0) FROM lth_pvr.ws_sessions")[0][0]),
            "worker_starts": sum(w.starts for w in workers), "worker_crashes": crashes,
            "elapsed_s": round(time.monotonic() - started, 1),
            "problems": (check.problems() + intents.problems() + ledger.pop("problems")
                         + exchanges.get("problems", []))[:20],
            "first_mismatch": story,
            "fault_timeline": injector.timeline(),
        }
        return result

    def _settle(self, db: Sql, sim, injector: FaultInjector, workers: list[WorkerProcess]) -> dict:
        """The final safety-net pass: cron ticks with an advancing clock until every order is final on
        both sides and the database equals the ground truth (or the timeout)."""
        began = time.monotonic()
        ticks, crashes, tick_at, settled = 0, 0, 0.0, False
        while time.monotonic() - began < self.plan.settle_timeout_s:
            crashes += self._restart_crashed(workers, injector)
            injector.check_rewatch()  # a restart late in the run is judged here
            now = time.monotonic() - began
            c = counts(db)
            truth = sim.truth()
            exchange_open = sum(1 for o in truth["orders"] if o["status"] in SIM_OPEN)
            if self.others is not None:  # what rests on the doubles is filled, so every order can end
                self.others.fill_what_rests()
                exchange_open += self.others.open_on_exchanges()
            held = db.rows("SELECT count(*) FROM lth_pvr.exchange_orders WHERE status = 'submitted' AND "
                           "poll_claimed_at > now() - make_interval(secs => lth_pvr.setting('poll_claim_seconds'))")[0][0]
            self.out.show(progress_line(c, self.plan.orders, now, len(injector.records), "settle")
                          + f"  exchange open {exchange_open}  look-ups claimed {held}  ticks {ticks}")
            if c["pending"] + c["placing"] + c["submitted"] == 0 and exchange_open == 0:
                with psycopg.connect(db.url) as conn:
                    # every exchange's fills too: an order's status may come before its trades are read
                    if truth_check.check(conn, truth).ok and (self.others is None or self.others.check(db.url)["ok"]):
                        settled = True
                        break
            if now >= tick_at:
                ticks += 1
                safety_net_tick(db)
                tick_at = now + 3.0
            time.sleep(0.25)
        return {"settled": settled, "settle_s": round(time.monotonic() - began, 1), "final_pass_ticks": ticks,
                "crashes": crashes, "settle_waiting": [] if settled else open_order_waits(db)[:10]}

    def _audit(self, result: dict, database_url: str, sim_url: str, key: str, secret: str) -> None:
        """The last check: `valr-monitor audit` of today, every account (the demo's code path), once the
        workers are stopped (no sync of theirs holds an account). Clean, or the run is not ok."""
        from worker.lab.demo import ledger_audit

        try:
            audit = ledger_audit(database_url, sim_url, key, secret)
            verdict, findings = audit["run"]["verdict"], audit["findings"]
        except Exception as exc:  # noqa: BLE001 - an audit that cannot run is a failed check, said
            verdict, findings = f"not run: {type(exc).__name__}: {exc}", []
        result["ledger"].update(audit=verdict, audit_findings=[
            {k: f.get(k) for k in ("kind", "ext_order_id", "currency", "transaction_ids")} for f in findings][:10])
        result["ok"] = bool(result["ok"] and verdict == "clean")

    def _ledger_truth(self, db: Sql, sim, money: LedgerStream, listener: DepositListener) -> dict:
        """The final catch-up, then every subaccount's transactions and balances against the exchange's,
        and one NOTIFY lth_pvr_deposit per deposit."""
        try:
            catch_up_s = final_catch_up(db.rows, sim)
        except TimeoutError as exc:
            catch_up_s = None
            self.out.note(f"ledger: {exc}")
        subs = [sub for (sub,) in db.rows("SELECT subaccount_id FROM lth_pvr.exchange_accounts "
                                          "WHERE exchange = 'valr' ORDER BY 1")]
        with psycopg.connect(db.url) as conn:
            check = truth_check.check_ledger(conn, {s: sim.ledger(s) for s in subs}, {s: sim.balances(s) for s in subs})
        with contextlib.suppress(TimeoutError):  # the NOTIFYs of the last commits may still be on the way
            wait_for(lambda: len(listener.payloads) >= check.deposits, 10, "a NOTIFY per deposit", interval=0.05)
        listener.stop()
        notified = [json.loads(p)["transaction_id"] for p in listener.payloads]
        summary = check.summary()
        summary.update(
            moves=money.moves, deposit_notifies=len(notified), deposits_notified_twice=len(notified) - len(set(notified)),
            deposit_listener_gaps=listener.gaps, final_catch_up_s=catch_up_s,
            notifies_equal_deposits=len(notified) == len(set(notified)) == check.deposits)
        summary["ok"] = bool(check.ok and catch_up_s is not None and summary["notifies_equal_deposits"])
        summary["problems"] = check.problems()
        return summary

    @staticmethod
    def _restart_crashed(workers: list[WorkerProcess], injector: FaultInjector) -> int:
        """A worker that died on its own (not by the injected SIGKILL) is a finding: record and restart."""
        n = 0
        for index, w in enumerate(workers):
            if w.proc is not None and w.proc.poll() is not None and index not in injector._respawn_at:
                code = w.proc.returncode
                if code != -signal.SIGKILL:
                    injector.records.append(FaultRecord(round(injector.elapsed(), 2), "worker_crashed",
                                                        f"{w.name} exited {code} by itself"))
                    n += 1
                w.start()
        return n

    @staticmethod
    def _never_placed(db: Sql, truth: dict) -> int:
        """Orders the database marked failed after a lost placement that VALR never knew: correct
        (never placed twice, a person decides), counted so the figure is visible."""
        on_exchange = {o["customerOrderId"] for o in truth["orders"]}
        rows = db.rows("SELECT customer_order_id::text FROM lth_pvr.exchange_orders WHERE status = 'failed'")
        return sum(1 for (cid,) in rows if cid not in on_exchange)


def fault_class_outcomes(db: Sql, truth: dict, records: list[FaultRecord]) -> dict[str, dict]:
    """What happened per fault class of issue 14 (and issue 21's intent_insert), each with the count of
    mismatches that fail the run."""
    # Orders VALR holds (or filled, or cancelled): not ones VALR itself failed.
    held = {o["customerOrderId"] for o in truth["orders"] if truth_check.EXPECTED_STATUS.get(o["status"]) != "failed"}
    failed = db.rows("SELECT customer_order_id::text, failed_reason FROM lth_pvr.exchange_orders "
                     "WHERE status = 'failed'")
    [(revived, illegal_from_failed)] = db.rows(
        "SELECT (SELECT count(*) FROM lth_pvr.exchange_orders WHERE revived_at IS NOT NULL), "
        "(SELECT count(*) FROM lth_pvr.order_events WHERE outcome = 'illegal_transition' AND old_status = 'failed')")
    [cancels] = db.rows(
        "SELECT json_build_object('requested', count(*), 'cancelled', count(*) FILTER (WHERE status = 'cancelled'), "
        "'filled_first', count(*) FILTER (WHERE status = 'filled'), "
        "'still_open', count(*) FILTER (WHERE status IN ('placing', 'submitted')), "
        "'attempts', coalesce(sum(cancel_attempts), 0), 'failed_attempts', coalesce(sum(cancel_failures), 0), "
        "'max_request_to_final_s', round(max(extract(epoch FROM finished_at - cancel_requested_at))::numeric, 1)) "
        "FROM lth_pvr.exchange_orders WHERE cancel_requested_at IS NOT NULL AND status <> 'pending' "
        "AND NOT (status = 'cancelled' AND submitted_at IS NULL)")
    count = Counter(r.kind for r in records)
    edits = [r for r in records if r.kind == "operator_edit"]
    intent_inserts = [r for r in records if r.kind == "intent_insert"]
    killed = killed_claims_outcome(db, truth, [r for r in records if r.kind == "killed_before_post"])
    failed_while_held = sum(1 for cid, _ in failed if cid in held)
    # VALR's refusal of a stale timestamp ("Request has expired: timestamp outside the allowed window").
    clock_failed = sum(1 for _, reason in failed if reason and re.search(r"(?i)request has expired|timestamp outside",
                                                                         reason))
    return {
        "rest_429_long_storm": {
            "injected": count["rest_429_long_storm"] + count["worker_joins_storm"],
            "what_happened": f"orders VALR holds recorded failed: {failed_while_held}; revived under VALR's word: "
                             f"{revived}; illegal transitions out of failed: {illegal_from_failed}",
            "mismatches": failed_while_held},
        "worker_joins_storm": {
            "injected": count["worker_joins_storm"],
            "what_happened": "a worker sharing worker1's id joined during a long storm (outcome counted above)",
            "mismatches": 0},
        "delete_failures": {
            "injected": count["delete_failures"],
            "what_happened": "cancels " + ", ".join(f"{k} {v}" for k, v in cancels[0].items()),
            "mismatches": cancels[0]["still_open"]},
        "clock_step": {
            "injected": count["clock_step"],
            "what_happened": f"orders failed on a refused timestamp: {clock_failed}",
            "mismatches": clock_failed},
        "worker_restart_same_id": restart_outcome([r for r in records if r.kind == "worker_restart_same_id"]),
        "operator_edit": {
            "injected": len(edits),
            "what_happened": "; ".join(sorted({r.detail for r in edits})) or "none",
            "mismatches": sum(1 for r in edits if r.accepted)},
        "intent_insert": {
            "injected": len(intent_inserts),
            "what_happened": f"refused by name: {sum(1 for r in intent_inserts if 'refused' in r.detail and not r.accepted)}; "
                             f"accepted: {sum(1 for r in intent_inserts if r.accepted)}",
            "mismatches": sum(1 for r in intent_inserts if r.accepted)},
        "killed_before_post": killed,
    }


def restart_outcome(restarts: list[FaultRecord]) -> dict:
    """Issue 21's class: a worker restarted under its own id watches its subaccounts again promptly."""
    seen = [r.rewatch_s for r in restarts if r.rewatch_s is not None]
    return {"injected": len(restarts),
            "what_happened": (f"subaccounts watched again after the restart within {max(seen)} s at most "
                              f"({len(seen)} judged)" if seen else "no restart with open subaccounts judged"),
            "mismatches": sum(1 for r in restarts if r.late)}


def killed_claims_outcome(db: Sql, truth: dict, records: list[FaultRecord]) -> dict:
    """Orders whose claimer was killed before their POST must each be placed again and reach VALR at most
    once, never failed by us: on VALR once, or failed on VALR's own refusal of the new POST (a REST 429
    storm that outlasts the placement's retries: VALR accepted nothing, as every other order's POST in
    that storm). Mismatch: VALR holds one twice, we failed one on inference, or VALR holds none and we
    did not record VALR's refusal."""
    cids = [cid for r in records for cid in r.orders if "killed before" in r.detail]
    on_valr = Counter(o["customerOrderId"] for o in truth["orders"])
    rows = db.rows("SELECT customer_order_id::text, status, placement_requeues, failed_inferred_at IS NOT NULL "
                   "FROM lth_pvr.exchange_orders WHERE customer_order_id::text = ANY (%s)", (cids,))
    placed_again = sum(1 for _, _, requeues, _ in rows if requeues > 0)
    refused = sum(1 for cid, status, _, inferred in rows if on_valr[cid] == 0 and status == "failed" and not inferred)
    wrong = sum(1 for cid, status, _, inferred in rows
                if on_valr[cid] > 1 or inferred or (on_valr[cid] == 0 and status != "failed"))
    return {"injected": len(records),
            "what_happened": f"orders claimed and unsent when their worker was killed: {len(cids)}; placed again: "
                             f"{placed_again}; on VALR exactly once: {sum(1 for c in cids if on_valr[c] == 1)}; "
                             f"refused by VALR when placed again: {refused}",
            "mismatches": wrong}


def print_report(result: dict, echo=click.echo) -> None:
    echo("")
    echo(f"Chaos soak, seed {result['seed']}: {result['orders']} orders across {result['plan']['subaccounts']} "
         f"subaccounts, {result['plan']['workers']} workers, {result['plan']['minutes']} min of faults, "
         f"{result['elapsed_s']} s in all")
    echo("  final status: " + ", ".join(f"{k} {v}" for k, v in result["orders_by_status"].items() if v)
         + f"; fills {result['fills']} on the exchange, {result['fills_in_database']} in the database")
    echo("  faults injected: " + ", ".join(f"{k} {v}" for k, v in result["faults"].items() if v))
    echo(f"  orders placed twice:      {result['placed_twice']}")
    echo(f"  fills lost:               {result['fills_lost']}")
    echo(f"  fills doubled:            {result['fills_doubled']}")
    echo(f"  final status differs:     {result['status_mismatch']}"
         + (" (" + ", ".join(f"{k}: {v}" for k, v in result["status_mismatch_kinds"].items()) + ")"
            if result["status_mismatch_kinds"] else ""))
    lg = result["ledger"]
    echo(f"  ledger: {lg['transactions']} transactions ({lg['deposits']} deposits), {lg['balances']} balances on the "
         f"exchange; moves " + ", ".join(f"{k} {v}" for k, v in lg["moves"].items()))
    echo(f"    transactions lost {lg['transactions_lost']}, doubled {lg['transactions_doubled']}, differing "
         f"{lg['transactions_differ']}; balances differing {lg['balances_differ']}; deposit NOTIFYs "
         f"{lg['deposit_notifies']} (twice {lg['deposits_notified_twice']}, listener gaps {lg['deposit_listener_gaps']}); "
         + (f"final catch-up {lg['final_catch_up_s']} s" if lg["final_catch_up_s"] is not None
            else "final catch-up NOT done"))
    if "audit" in lg:
        echo(f"    audit: {lg['audit']}" + "".join(f"; {f['kind']} {f['ext_order_id'] or f['currency']}"
                                               for f in lg["audit_findings"]))
    ex = result.get("exchanges") or {}
    for name, c in (ex.get("by_exchange") or {}).items():
        echo(f"  {name} (its double, through ccxt): {c['orders']} orders, {c['fills']} fills; placed twice "
             f"{c['placed_twice']}, fills lost {c['fills_lost']}, doubled {c['fills_doubled']}, status differs "
             f"{c['status_mismatch']}")
    if ex.get("orders"):
        echo(f"    other exchanges: {ex['orders']} orders, intents executed > asked {ex['intents_over_executed']}; "
             "faults " + (", ".join(f"{k} {v}" for k, v in sorted(ex["faults"].items())) or "none"))
    echo(f"  longest lag behind the exchange: {result['max_lag_s']} s ({result['max_lag_kind']}); "
         f"p50 {result['lag_p50_s']} s, p95 {result['lag_p95_s']} s, p99 {result['lag_p99_s']} s")
    ic = result["intent_check"]
    echo(f"  intents (every order's, fallback or not): {ic['intents']} checked, {result['fallback_orders']} orders with a fallback; "
         f"fallbacks fired by reason: " + (", ".join(f"{k} {v}" for k, v in sorted(ic["fallbacks_by_reason"].items()))
                                           or "none")
         + "; outcomes: " + (", ".join(f"{k} {v}" for k, v in sorted(ic["outcomes"].items())) or "none"))
    echo(f"    replacements {ic['replacements']} (on VALR {ic['replacements_on_valr']}, filled "
         f"{ic['replacements_filled']}, failed {ic['replacements_failed']}); remainders below minimum "
         f"{ic['below_minimum']}")
    echo("    violations: " + ", ".join(f"{k} {v}" for k, v in ic["violations"].items()))
    echo("  per fault class (money races, the fallback path, the worker):")
    for kind, cls in result["fault_classes"].items():
        echo(f"    {kind:<20} injected {cls['injected']}: {cls['what_happened']}"
             + (f"  MISMATCHES {cls['mismatches']}" if cls["mismatches"] else ""))
    echo("  lag behind the exchange per fault class (a change under the latest fault begun before it, "
         "within its span + 30 s):")
    for kind, lag in result["lag_by_fault_class"].items():
        echo(f"    {kind:<20} n {lag['n']:>5}  p50 {lag['p50_s']} s  p95 {lag['p95_s']} s  p99 {lag['p99_s']} s  "
             f"max {lag['max_s']} s")
    echo(f"  REST calls spent on recovery: {result['recovery_rest_calls']} "
         f"(beyond {result['placements_accepted']} accepted placements; WebSocket connections "
         f"{result['ws_connections']}, refused {result['ws_refused']})")
    echo(f"  open-orders lists superseded by a newer one before recording: {result['lists_superseded']}")
    echo(f"  lost placements failed after the grace (never on VALR): {result['never_placed_failed']}; "
         f"worker starts {result['worker_starts']}, crashes {result['worker_crashes']}")
    echo(f"  final pass: {result['final_pass_ticks']} safety-net ticks, settled in {result['settle_s']} s"
         if result["settled"] else f"  final pass: NOT settled after {result['settle_s']} s; still open:")
    for w in result.get("settle_waiting", []):
        echo(f"    {w['order']} {w['status']} subaccount {w['subaccount']} lease {w['lease_holder']}; look-up due "
             f"{w['poll_due']}, claimed by {w['poll_claimed_by']} for {w['claim_held_s']} s more, {w['polls']} polls, "
             f"last {w['last_poll']}")
    if result["ok"]:
        echo("Result: the database matches the exchange's ground truth.")
        return
    echo(f"Result: MISMATCH (replay with --seed {result['seed']}); worker logs kept in {result['workdir']}")
    for p in result["problems"]:
        echo(f"  {p}")
    for line in result["first_mismatch"]:
        echo(f"  {line}")
    echo("  fault timeline:")
    for line in result["fault_timeline"]:
        echo(f"    {line}")


@click.command()
@click.option("--orders", "n_orders", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--minutes", type=click.FloatRange(0.1, 600), default=2.0, show_default=True,
              help="How long faults are injected (the final pass comes after).")
@click.option("--seed", type=int, default=None, help="Replay a run (default: random, printed).")
@click.option("--subaccounts", type=click.IntRange(1, 1000), default=None,
              help="Default: orders/5, between 2 and 40.")
@click.option("--fault-every", type=click.FloatRange(0.2, 600), default=3.0, show_default=True,
              help="Mean seconds between two faults.")
@click.option("--cron-every", type=click.FloatRange(1, 3600), default=20.0, show_default=True,
              help="Seconds between safety-net ticks during the run (each finds every submitted order due).")
@click.option("--placement-grace", type=click.IntRange(1, 3600), default=30, show_default=True,
              help="settings.placement_grace_seconds during the run (production default 120): how long a "
                   "placement VALR does not know stays `placing` before it is failed.")
@click.option("--fallback-share", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="Share of the orders that are limit orders with a limit → market fallback (age or price).")
@click.option("--exchange-orders", type=click.IntRange(0, 100_000), default=30, show_default=True,
              help="Orders on Binance, Kraken and Coinbase (their doubles, through ccxt) beside VALR's; 0: VALR only.")
@click.option("--faults", "fault_kinds", default=",".join(WEIGHTS), show_default=False,
              help="Comma-separated fault kinds to draw from (default: all).")
@click.option("--every-kind-first", is_flag=True,
              help="Inject each fault kind once (in seeded order) before drawing at random.")
@database_url_option("Use this database (migrated; data left there) instead of an embedded one; PostgreSQL "
                     "is then not restarted.", from_env=False)
@json_option
def chaos(n_orders: int, minutes: float, seed: int | None, subaccounts: int | None, fault_every: float,
          cron_every: float, placement_grace: int, fallback_share: float, exchange_orders: int, fault_kinds: str,
          every_kind_first: bool, database_url: str | None, as_json: bool) -> None:
    """Soak the monitor with seeded faults; compare the database with the exchange's ground truth."""
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    kinds = tuple(k.strip() for k in fault_kinds.split(",") if k.strip())
    if not kinds or set(kinds) - set(WEIGHTS):
        raise click.BadParameter(f"unknown kind(s) {sorted(set(kinds) - set(WEIGHTS))}; known: {', '.join(WEIGHTS)}",
                                 param_hint="--faults")
    plan = ChaosPlan(orders=n_orders, minutes=minutes, seed=seed, fault_every_s=fault_every,
                     cron_every_s=cron_every, placement_grace_s=placement_grace,
                     settle_timeout_s=max(240.0, 2.0 * placement_grace + 60),
                     subaccounts=subaccounts or max(2, min(40, n_orders // 5)),
                     fallback_share=fallback_share, fault_kinds=kinds, every_kind_first=every_kind_first,
                     exchange_orders=exchange_orders)
    stream = sys.stderr if as_json else sys.stdout
    out = Progress(stream=stream, tty=stream.isatty())
    out.note(f"chaos seed {seed} (replay: --seed {seed})")
    with exit_cleanly_on_interrupt(f"interrupted (seed {seed}): everything started was stopped"):
        code, result = Chaos(plan, out).run(database_url)
    if out.tty:
        stream.write("\n")
    if as_json:
        click.echo(json.dumps(result, default=str))
        if code:
            print_report(result, echo=lambda s: click.echo(s, err=True))
    else:
        print_report(result)
    sys.exit(code)
