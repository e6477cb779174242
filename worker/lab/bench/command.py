"""`valr-monitor bench [--quick] [--json] [--database-url URL] [--only NAME …] [--compare FILE]`: twelve figures, each printed
with the floor it is compared to, measured in the same run on the same server.

1 event → commit latency (bench_latency)      floor: one-row INSERT + NOTIFY, same listener
2 throughput, one worker (bench_throughput)    floor: the same rows by a bare batched insert
3 insert → placement → ws_monitored_at         compared with the simulator's own answer time
4 REST calls over a simulated day (bench_rest) floor: the spec's 1-minute polling of the same orders
5 safety-net selection cost (bench_query)      10k / 100k / 1M history, plan
6 scale: 2,000 subaccounts, two workers        (bench_scale) VALR's budgets scaled in time
7 one subaccount with 1,000 open orders       (bench_crowded) beside: the same fills with one open order
8 limit → market fallback (bench_fallback)    floor: a bare client, one SQL write per decision; beside: a
                                               10-second polling loop of the same triggers
9 ledger REST calls/hour, no sockets           floor: per-subaccount reads of the same accounts
  (bench_ledger_rest)
10 deposit → NOTIFY lth_pvr_deposit (ledger)   floor: one-row INSERT + NOTIFY, same listener (figure 1's)
11 ledger catch-up rows/s (ledger)            floor: the same rows by a bare INSERT per page of 200
12 per exchange through ccxt (exchanges)      fill event → commit, age due → cancel, cancelled → market POST
                                               on Binance, Kraken, Coinbase (their doubles); floor: figure 1's

--only runs some of them (by module: latency, throughput, rest, query, scale, crowded, fallback, ledger_rest,
ledger, exchanges).

--compare FILE prints each comparable figure's ratio to its floor beside a recorded run's (docs/bench/*.json)
and exits 1 when one is worse than the recorded one by more than its recorded spread (compare.py), 2
when FILE cannot be read as a bench report.

Everything runs on a throwaway embedded PostgreSQL (durable: fsync and synchronous_commit on, as in
production) unless --database-url is given; then each figure gets its own database on that server,
created and dropped by the bench (the role needs CREATEDB; figure 5 needs superuser). Benchmarks are
never pass/fail: the exit status is 0 whenever the figures were measured, targets missed or not
(--compare's regression guard aside).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import click

from worker.db import dsn
from worker.daemon.rlimit import raise_file_limit  # the simulator side holds 1,000 sockets too
from worker.lab.bench import compare as guard
from worker.lab.bench.env import Cluster, Figure
from worker.lab.interrupt import exit_cleanly_on_interrupt
from worker.options import database_url_option, json_option

FIGURES: list[tuple[str, str]] = [
    ("worker.lab.bench.latency", "run_latency_figures"),  # figures 1 and 3
    ("worker.lab.bench.throughput", "run_throughput"),
    ("worker.lab.bench.rest", "run_rest_calls"),
    ("worker.lab.bench.query", "run_query_cost"),
    ("worker.lab.bench.scale", "run_scale"),
    ("worker.lab.bench.crowded", "run_crowded"),
    ("worker.lab.bench.fallback", "run_fallback"),
    ("worker.lab.bench.ledger_rest", "run_ledger_rest"),
    ("worker.lab.bench.ledger", "run_ledger_figures"),  # figures 10 and 11
    ("worker.lab.bench.exchanges", "run_exchanges"),    # figure 12
]
ORDER = ["event_to_commit", "throughput", "insert_to_monitor", "rest_calls", "safety_net_query", "scale", "crowded_subaccount",
         "fallback", "ledger_rest", "deposit_to_notify", "catch_up", "exchanges"]
NAMES = [module.rsplit(".", 1)[1] for module, _ in FIGURES]


def machine() -> dict:
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), 0)
    return {"cpus": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1), "platform": platform.platform(),
            "python": platform.python_version()}


def run_bench(database_url: str | None, quick: bool, say: Callable[[str], None], only: tuple[str, ...] = ()) -> dict:
    import importlib

    raise_file_limit()
    started = time.monotonic()
    figures: dict[str, Figure] = {}
    seconds: dict[str, float] = {}  # each module's wall time, set-up and tear-down included
    failed: dict[str, str] = {}     # module → why it failed (the run goes on; the command exits 1)
    cluster = Cluster(database_url).start()
    try:
        say(f"PostgreSQL: {'embedded' if database_url is None else dsn.redact(database_url)}, "
            f"settings {cluster.durable_settings()}")
        with tempfile.TemporaryDirectory(prefix="valr-bench-") as tmp:
            workdir = Path(tmp)
            for module, name in FIGURES:
                if only and module.rsplit(".", 1)[1] not in only:
                    continue
                short = module.rsplit(".", 1)[1]
                say(f"running {short} …")
                began = time.monotonic()
                try:
                    result = getattr(importlib.import_module(module), name)(cluster, workdir, quick)
                except Exception as exc:  # a figure that fails costs its own figure, not the run's others
                    say(f"{short} FAILED: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
                    failed[short] = f"{type(exc).__name__}: {exc}"
                    continue
                finally:
                    seconds[short] = round(time.monotonic() - began, 1)
                for fig in (result if isinstance(result, tuple) else (result,)):
                    figures[fig.key] = fig
        durable = cluster.durable_settings()
    finally:
        cluster.stop()
    keys = [key for key in ORDER if key in figures]
    report: dict = {
        "command": "valr-monitor bench" + (" --quick" if quick else "") + "".join(f" --only {n}" for n in only),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(), "quick": quick, "postgres": durable,
        "elapsed_s": round(time.monotonic() - started, 1), "seconds_by_module": seconds,
    }
    if failed:
        report["failed"] = failed
    for key in keys:
        report[key] = figures[key].data
    report["notes"] = [n for key in keys for n in figures[key].notes]
    report["compare"] = guard.comparables(report)  # each figure's ratio and sub-run spread, for --compare
    # The human table's rows too, so a saved --json run can be shown as the table (print_table).
    report["table"] = [list(r) for key in keys for r in figures[key].rows]
    return report


def print_table(report: dict) -> None:
    rows = [("figure", "measured", "floor / compared with", "ratio", "target")] + [tuple(r) for r in report["table"]]
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    m = report["machine"]
    click.echo(f"{report['command']} — {report['date']} — {m['cpus']} CPUs, {m['memory_gb']} GB, "
               f"{m['platform']}; PostgreSQL fsync={report['postgres']['fsync']} "
               f"synchronous_commit={report['postgres']['synchronous_commit']}; {report['elapsed_s']} s")
    for i, row in enumerate(rows):
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            click.echo("  ".join("-" * w for w in widths))
    click.echo("")
    for note in report["notes"]:
        click.echo(note)


@click.command()
@click.option("--quick", is_flag=True, help="Tiny sizes, under a minute (CI smoke use); figures are indicative.")
@json_option
@database_url_option("Run on this server (a database per figure is created and dropped) instead of the embedded one.",
                     from_env=False)
@click.option("--only", multiple=True, type=click.Choice(NAMES), help="Run only this figure's module (repeatable).")
@click.option("--compare", "recorded_file", type=click.Path(path_type=Path), default=None,
              help="A recorded run (--json output): show the ratios beside its; exit 1 when a figure is worse "
                   "than it by more than its spread.")
def bench(quick: bool, as_json: bool, database_url: str | None, only: tuple[str, ...],
          recorded_file: Path | None) -> None:
    """Measure latency, throughput, REST calls and scale, each against its floor in the same run."""
    say = (lambda text: click.echo(f"• {text}", err=True)) if as_json else (lambda text: click.echo(f"• {text}"))
    recorded = load_or_exit(recorded_file) if recorded_file else None  # a bad file fails before the run
    with exit_cleanly_on_interrupt():
        report = run_bench(database_url, quick, say, only)
    if as_json:
        click.echo(json.dumps(report, default=str))
    else:
        print_table(report)
    status = print_comparison(report, recorded, recorded_file, err=as_json) if recorded is not None else 0
    if report.get("failed"):
        click.echo(f"bench: {len(report['failed'])} figure module(s) failed: {', '.join(report['failed'])}",
                   err=True)
        status = 1
    if status:
        raise SystemExit(status)


def load_or_exit(path: Path) -> dict:
    try:
        return guard.load_recorded(path)
    except guard.RecordedRunError as exc:
        click.echo(f"bench --compare: {exc}", err=True)
        raise SystemExit(2) from None


def print_comparison(report: dict, recorded: dict, path: Path, err: bool = False) -> int:
    """The comparison table; 1 when a figure is worse than the recorded one beyond its spread, else 0."""
    rows = guard.compare(report["compare"], recorded)
    click.echo(f"\ncompared with {path} (ratios to the floor; worse = beyond the recorded spread):", err=err)
    for line in guard.table(rows) if rows else ["(no comparable figure in this run)"]:
        click.echo(line, err=err)
    return 1 if guard.any_worse(rows) else 0
