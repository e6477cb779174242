"""`valr-monitor demo`: everything end to end on the embedded default, so anyone can see it work.

Starts a throwaway PostgreSQL with pg_cron (or uses --database-url), migrates it, starts the VALR
simulator (auto matching: delayed partial fills, some cancels, expiries and failures) and a worker
process, then inserts orders with plain SQL the way a user would. Midway the simulator drops every
WebSocket and silently loses events; reconnect + reconciliation and the safety net (the cron job's
SQL function, called here with an advancing clock rather than waiting 10 minutes) bring every order
to its true final state. Ends with the spec's metrics, the alert check, REST calls compared with the
spec's old 1-minute polling, a check of the database against the exchange's ground truth, and the
ledger audit's verdict (`valr-monitor audit` of today, the same code path).
"""

from __future__ import annotations

import contextlib
import json
import math
import secrets
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import click
import psycopg

from worker.db import dsn
from worker.lab import demo_exchanges, demo_fallback, demo_ledger, truth as truth_check
from worker.lab.run_settings import settings_for_the_run
from worker.lab.worker_process import WorkerProcess
from worker.lab.interrupt import exit_cleanly_on_interrupt
from worker.options import database_url_option, json_option
from worker.valr import Credentials

TERMINAL = ("filled", "cancelled", "failed")
# Not per-order monitoring cost: placing the order (both designs do it) and the start-up clock check.
# Nor the fallback act's own two calls per fallback (the cancel and the market order): acting, not following.
NOT_MONITORING = ("POST /v1/orders/limit", "GET /v1/public/time", "DELETE /v1/orders/order",
                  "POST /v1/orders/market")


@dataclass
class DemoPlan:
    orders: int = 40
    subaccounts: int = 8
    waves: int = 4
    wave_gap_s: float = 1.5
    fill_delay_s: float = 1.5
    timeout_s: float = 90.0


@dataclass
class Progress:
    """Prints one live line on a terminal, plain lines otherwise (to stderr when --json)."""
    stream: object = sys.stdout
    tty: bool = False
    last_plain: float = 0.0
    lines: list[str] = field(default_factory=list)

    def show(self, text: str, force: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
        elif force or time.monotonic() - self.last_plain >= 2.0:
            self.stream.write(text + "\n")
            self.stream.flush()
            self.last_plain = time.monotonic()

    def note(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(f"• {text}\n")
        self.stream.flush()


def insert_accounts(conn: psycopg.Connection, count: int) -> list[uuid.UUID]:
    """Subaccounts as a user would create them in psql."""
    ids = []
    for i in range(count):
        ids.append(conn.execute(
            "INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES (%s, %s) "
            "ON CONFLICT (exchange, upper(coalesce(credential_ref, exchange)), subaccount_id) DO UPDATE SET label = EXCLUDED.label RETURNING exchange_account_id",
            (f"{9000000 + i}", f"demo customer {i + 1}"),
        ).fetchone()[0])
    conn.commit()
    return ids


def insert_orders(conn: psycopg.Connection, accounts: list[uuid.UUID], count: int, offset: int) -> None:
    """Pending BTCZAR buy orders, with plain SQL: the way a user (or a strategy) would."""
    for i in range(count):
        n = offset + i
        conn.execute(
            """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty)
               VALUES (%s, %s, 'BTCZAR', 'BUY', %s, %s)""",
            (accounts[n % len(accounts)], uuid.uuid4(), 1_150_000 + 100 * (n % 7), f"0.000{1 + n % 5}"),
        )
    conn.commit()


def status_counts(conn: psycopg.Connection, since: datetime) -> dict[str, int]:
    rows = conn.execute(
        "SELECT status, count(*) FROM lth_pvr.exchange_orders WHERE created_at >= %s GROUP BY 1", (since,)
    ).fetchall()
    counts = {s: 0 for s in ("pending", "placing", "submitted", *TERMINAL)}
    counts.update(dict(rows))
    counts["fills"] = conn.execute(
        "SELECT count(*) FROM lth_pvr.order_fills f JOIN lth_pvr.exchange_orders o USING (exchange_order_id) "
        "WHERE o.created_at >= %s", (since,)).fetchone()[0]
    return counts


def progress_line(c: dict[str, int], total: int, elapsed: float) -> str:
    done = sum(c[s] for s in TERMINAL)
    # The fallback act inserts its own orders (and the worker their replacements): count them too.
    total = max(total, done + c["pending"] + c["placing"] + c["submitted"])
    width = 24
    bar = "#" * int(width * done / max(total, 1))
    return (f"[{bar:<{width}}] {done}/{total} done  placed/open {c['submitted']}  "
            f"filled {c['filled']}  cancelled {c['cancelled']}  failed {c['failed']}  "
            f"pending {c['pending'] + c['placing']}  fills {c['fills']}  {elapsed:4.1f}s")


def rows_as_dicts(conn: psycopg.Connection, query: str) -> list[dict]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return [{k: (str(v) if v is not None and not isinstance(v, (int, float, str, bool)) else v)
             for k, v in row.items()} for row in cur.execute(query).fetchall()]


def monitoring_calls(rest: dict) -> int:
    return sum(n for route, n in rest.items() if route not in NOT_MONITORING)


def rest_report(counters: dict, before_fault: dict, truth: dict, orders: int) -> dict:
    """Our REST calls per order against what the spec's 1-minute polling would have cost: one status
    call per open order per minute, at least one per order (the demo compresses minutes to seconds,
    which flatters the old design)."""
    rest = counters.get("rest", {})
    ours = monitoring_calls(rest)
    steady = monitoring_calls(before_fault.get("rest", {}))
    baseline = 0
    for order in truth["orders"]:
        created = datetime.fromisoformat(order["createdAt"].replace("Z", "+00:00"))
        updated = datetime.fromisoformat(order["updatedAt"].replace("Z", "+00:00"))
        baseline += max(1, math.ceil((updated - created).total_seconds() / 60))
    return {
        "by_endpoint": dict(sorted(rest.items())),
        "ws_connections": counters.get("ws_connections"),
        "monitoring_calls": ours,
        "monitoring_calls_per_order": round(ours / max(orders, 1), 3),
        "monitoring_calls_before_fault": steady,
        "monitoring_calls_in_recovery": ours - steady,
        "spec_polling_calls": baseline,
        "spec_polling_calls_per_order": round(baseline / max(orders, 1), 3),
    }


def run_demo(plan: DemoPlan, database_url: str | None, as_json: bool) -> tuple[int, dict]:
    from worker.db.migrate import migrate
    from worker.lab.sim import SimConfig, SimulatorThread

    out = Progress(stream=sys.stderr if as_json else sys.stdout,
                   tty=(sys.stderr if as_json else sys.stdout).isatty())
    key, secret = "demo-key", secrets.token_hex(32)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="valr-demo-")))
        if database_url is None:
            from worker.lab.embedded import EmbeddedPostgres

            pg = stack.enter_context(EmbeddedPostgres())
            database_url = pg.url()
            out.note(f"embedded PostgreSQL with pg_cron at {database_url}")
        else:
            out.note(f"using {dsn.redact(database_url)} (data is left there for inspection)")
        report = migrate(database_url)
        out.note(f"migrated: {len(report.applied)} migrations applied, cron jobs in {report.cron_database!r}")
        # Each safety-net tick finds every submitted order due, as production's next 10-minute tick would.
        settings_for_the_run(stack, database_url, {"poll_recent_minutes": 0})
        sim = stack.enter_context(SimulatorThread(key, secret, config=SimConfig(
            mode="auto", fill_delay_s=plan.fill_delay_s, fills_per_order=(1, 3), cancel_fraction=0.1,
            expire_fraction=0.05, fail_fraction=0.05, seed=7)))
        out.note(f"VALR simulator at {sim.base_url}")
        venues = demo_exchanges.start_venues(stack, paced=True)
        out.note("exchange doubles driven through ccxt: " + ", ".join(f"{v.name} at {v.double.base_url}" for v in venues))
        worker = WorkerProcess("worker", database_url, sim.base_url, key, secret, workdir,
                               extra=("--catch-up", "2", "--max-session", "0"), env=demo_exchanges.worker_env(venues))
        worker.start()
        stack.callback(worker.stop)
        out.note(f"worker started (pid {worker.proc.pid})")
        result = _drive(plan, database_url, sim, out, venues)
        result["audit"] = ledger_audit(database_url, sim.base_url, key, secret)
        result["worker_log_tail"] = worker.log_path.read_text(errors="replace").splitlines()[-5:]
        ok = (result["ground_truth"]["ok"] and result["all_final"] and result["fallbacks"]["ok"]
              and result["ledger"]["ok"] and result["audit"]["run"]["verdict"] == "clean"
              and result["exchanges"]["ok"])
        return (0 if ok else 1), result
    raise AssertionError("unreachable")


def ledger_audit(database_url: str, sim_url: str, key: str, secret: str) -> dict:
    """The last act: `valr-monitor audit` of today (every account), the same code path, its verdict."""
    from worker.ops.audit import audit_once

    report = audit_once(database_url, sim_url, Credentials(key, secret), datetime.now(timezone.utc).date(), None)
    return {"verdict_line": report.headline, **report.data}


def _drive(plan: DemoPlan, database_url: str, sim, out: Progress, venues: list) -> dict:
    started = time.monotonic()
    with psycopg.connect(database_url) as conn:
        since = conn.execute("SELECT now()").fetchone()[0]
        accounts = insert_accounts(conn, plan.subaccounts)
        per_wave = math.ceil(plan.orders / plan.waves)
        inserted, wave, faulted, healed, tick = 0, 0, False, False, 0
        before_fault: dict = {}
        next_wave = time.monotonic()
        while True:
            now = time.monotonic()
            if inserted < plan.orders and now >= next_wave:
                batch = min(per_wave, plan.orders - inserted)
                insert_orders(conn, accounts, batch, inserted)
                inserted += batch
                wave += 1
                next_wave = now + plan.wave_gap_s
                out.note(f"inserted {batch} pending orders with SQL (wave {wave}/{plan.waves})")
            if not faulted and wave >= plan.waves // 2:
                before_fault = sim.counters()
                sim.set_faults(close_sockets=True, drop_fraction=0.3)
                faulted, fault_at = True, now
                out.note("simulator: every WebSocket dropped, 30 % of events silently lost")
            if faulted and not healed and now - fault_at > 3.0:
                sim.set_faults(reset=True)
                healed = True
                out.note("simulator: faults cleared")
            counts = status_counts(conn, since)
            conn.commit()
            out.show(progress_line(counts, plan.orders, now - started))
            open_orders = counts["pending"] + counts["placing"] + counts["submitted"]
            if healed and inserted >= plan.orders and now - fault_at > 6.0 and (open_orders or tick == 0):
                # The cron job's own SQL, at the true clock: time is compressed by the demo's setting
                # (poll_recent_minutes 0: every submitted order is due, as at the next 10-minute tick).
                # A clock moved ahead told the tick's other rules that the live worker was lost
                # (retire_lost_workers closed its sessions and dropped its leases at every tick).
                tick += 1
                marked = conn.execute("SELECT lth_pvr.safety_net_tick()").fetchone()[0]
                conn.commit()
                if marked:
                    out.note(f"safety net (cron job's SQL, tick {tick}): {marked} orders marked for polling")
                fault_at = now  # give the worker time before the next tick
            if inserted >= plan.orders and open_orders == 0 and healed:
                break
            if now - started > plan.timeout_s:
                out.note(f"timed out after {plan.timeout_s:.0f} s with {open_orders} orders open")
                break
            time.sleep(0.25)
        fallbacks = demo_fallback.run(conn, sim, out)
        ledger = demo_ledger.run(conn, database_url, sim, out)
        exchanges = demo_exchanges.run(conn, database_url, venues, out)
        counts = status_counts(conn, since)
        out.show(progress_line(counts, plan.orders, time.monotonic() - started), force=True)
        if out.tty:
            out.stream.write("\n")
        truth = sim.truth()
        check = truth_check.check(conn, truth)
        return {
            "orders": plan.orders, "subaccounts": plan.subaccounts,
            "elapsed_s": round(time.monotonic() - started, 1),
            "orders_by_status": {s: counts[s] for s in ("submitted", *TERMINAL, "pending", "placing")},
            "fills": counts["fills"],
            "all_final": counts["pending"] + counts["placing"] + counts["submitted"] == 0,
            "safety_net_ticks": tick,
            "rest_calls": rest_report(sim.counters(), before_fault, truth, plan.orders),
            "metrics": {name: rows_as_dicts(conn, f"SELECT * FROM lth_pvr.{name}") for name in (
                "v_ws_coverage", "v_polls_per_order", "v_completion_time", "v_update_method",
                "v_final_status_source")},
            "alerts": rows_as_dicts(conn, "SELECT * FROM lth_pvr.v_alerts"),
            "ground_truth": {**check.summary(), "problems": check.problems()[:10]},
            "fallbacks": fallbacks,
            "ledger": ledger,
            "exchanges": exchanges,
        }


def print_report(result: dict) -> None:
    echo = click.echo
    echo("")
    echo(f"Orders: {result['orders']} across {result['subaccounts']} subaccounts in {result['elapsed_s']} s; "
         f"fills recorded: {result['fills']}")
    echo("  final status: " + ", ".join(f"{k} {v}" for k, v in result["orders_by_status"].items() if v))
    rest = result["rest_calls"]
    echo(f"REST calls to follow orders (placement excluded): {rest['monitoring_calls']} "
         f"({rest['monitoring_calls_per_order']} per order): {rest['monitoring_calls_before_fault']} while the "
         f"WebSocket was healthy, {rest['monitoring_calls_in_recovery']} recovering from the injected faults.")
    echo(f"  The spec's 1-minute polling would have made at least {rest['spec_polling_calls']} "
         f"({rest['spec_polling_calls_per_order']} per order) for the same orders, faults or not.")
    echo("  by endpoint: " + ", ".join(f"{k} {v}" for k, v in rest["by_endpoint"].items()))
    echo(f"  WebSocket connections: {rest['ws_connections']}; safety-net ticks run: {result['safety_net_ticks']}")
    echo("Metrics (the spec's, from lth_pvr views):")
    for name, rows in result["metrics"].items():
        for row in rows or [{}]:
            echo(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in row.items()))
    alerts = result["alerts"]
    echo("Alerts: " + ("none" if not alerts else ""))
    for a in alerts:
        echo(f"  {a.get('level')}: {a.get('name')} — {a.get('detail')}")
    fb = result["fallbacks"]
    echo(f"Fallbacks ({fb['intents']} intents): by reason age {fb['fallbacks_by_reason']['age']}, "
         f"price {fb['fallbacks_by_reason']['price']}; replacements placed {fb['replacements_placed']}, "
         f"filled {fb['replacements_filled']}, failed {fb['replacements_failed']}; intents filled {fb['intents_filled']}; "
         f"executed > asked: {len(fb['intent_violations'])}")
    for v in fb["intent_violations"]:
        echo(f"  VIOLATION {v}")
    lg = result["ledger"]
    echo(f"Deposits: {lg['detected_live']} of {lg['deposits']} detected live (NOTIFY lth_pvr_deposit after "
         + ", ".join(f"{ms:g} ms" for ms in lg["latency_ms"]) + f"); two equal deposits the same day: "
         f"{lg['same_amount_rows']} rows in v_deposits")
    gt = result["ground_truth"]
    if gt["ok"] and result["all_final"]:
        echo(f"Ground truth: the database matches the exchange — {gt['orders']} orders, {gt['fills']} fills, "
             "0 placed twice, 0 fills lost, 0 doubled, 0 status mismatches.")
    else:
        echo("Ground truth: MISMATCH")
        for p in gt["problems"]:
            echo(f"  {p}")
    ex = result["exchanges"]
    for venue in ex["venues"]:
        gt = ex["ground_truth"][venue["exchange"]]
        echo(f"{venue['exchange']} ({venue['symbol']}, through ccxt): " + "; ".join(
            f"{kind} {st} filled {qty}" for kind, st, qty in venue["orders"])
             + f"; fallback replaced at market: {'yes' if venue['fallback_replaced'] else 'NO'}; ground truth "
             + ("matches" if gt["ok"] else "MISMATCH: " + "; ".join(gt["problems"])))
    audit = result["audit"]
    echo(f"Ledger audit: {audit['verdict_line']}")
    for f in audit["findings"]:
        echo(f"  {f['kind']} {f['ext_order_id'] or f['currency']}: VALR {f['valr_qty'] or f['valr_balance']}, "
             f"ours {f['our_qty'] or f['our_balance']}; {f['resolution'] or 'unresolved'}")


@click.command()
@click.option("--orders", "n_orders", type=click.IntRange(1, 100_000), default=40, show_default=True)
@click.option("--subaccounts", type=click.IntRange(1, 10_000), default=8, show_default=True)
@database_url_option("Use this database (migrated first; data left there) instead of the embedded one.",
                     from_env=False)
@json_option
def demo(n_orders: int, subaccounts: int, database_url: str | None, as_json: bool) -> None:
    """Run everything end to end on a throwaway PostgreSQL (pg_cron) and a local VALR simulator."""
    plan = DemoPlan(orders=n_orders, subaccounts=min(subaccounts, n_orders))
    with exit_cleanly_on_interrupt():
        code, result = run_demo(plan, database_url, as_json)
    if as_json:
        click.echo(json.dumps(result, default=str))
    else:
        print_report(result)
    sys.exit(code)
