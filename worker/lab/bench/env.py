"""What every figure of `valr-monitor bench` stands on: the server and a fresh database per figure,
the simulator, worker processes, the LISTEN observer, and the statistics.

* One PostgreSQL server for the whole run (embedded, durable: fsync and synchronous_commit on), one
  migrated template, and a clone of it per figure, so no figure inherits another's rows.
* Workers are child processes (`python -m worker.lab.bench.worker`), as in production, so their
  resident memory and sockets are theirs alone and the bench's own threads never share their GIL.
* The observer is a separate process LISTENing on the channels it is given; it stamps each NOTIFY with
  the wall clock on arrival, the same way for the worker's commits and for the floors.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import select
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import psycopg

from worker.lab.orphan_guard import guarded
from worker.lab.worker_process import wait_for  # noqa: F401  (re-exported to the figures)
from worker.valr.events import ORDER_EVENTS
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

API_KEY = "bench-api-key"
# One secret per run, shared by the simulator and the workers (passed in their environment only).
API_SECRET = secrets.token_hex(32)


# -- statistics -------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (q in [0, 100])."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3),
            "max_ms": round(max(ms), 3) if ms else float("nan")}


def median_of(runs: list[dict], key: str) -> float:
    values = [r[key] for r in runs if r.get(key) is not None and not math.isnan(r[key])]
    return round(statistics.median(values), 3) if values else float("nan")


# -- the server and a database per figure ----------------------------------------------------------
class Cluster:
    """The embedded server (durable), or the server of --database-url (its role needs CREATEDB, and
    superuser for figure 5's bulk history load). Databases it creates are dropped at stop()."""

    def __init__(self, database_url: str | None, max_connections: int = 400) -> None:
        self.database_url = database_url
        self.max_connections = max_connections
        self.pg = None
        self.created: list[str] = []
        self.tag = uuid.uuid4().hex[:8]

    def start(self) -> "Cluster":
        from worker.db.migrate import migrate

        if self.database_url is None:
            from worker.lab.embedded import EmbeddedPostgres

            self.pg = EmbeddedPostgres(durable=True, max_connections=self.max_connections).start()
            self.admin_url = self.pg.url()
        else:
            self.admin_url = self.database_url
        self.template = self._create(f"valr_bench_template_{self.tag}")
        migrate(self.url(self.template), cron=False)  # figure 4 drives the cron job's SQL itself
        return self

    def url(self, dbname: str) -> str:
        return make_conninfo(self.admin_url, dbname=dbname)

    def durable_settings(self) -> dict[str, str]:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return {name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
            for name in ("server_version", "fsync", "synchronous_commit", "full_page_writes")}

    def _create(self, name: str, template: str | None = None) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            conn.execute(query)
        self.created.append(name)
        return name

    def database(self, label: str, notify_recorded: bool = False) -> str:
        """A fresh migrated database (a clone of the template); returns its URL. notify_recorded: the
        figure's instrument is lth_pvr_recorded, which the system ships off (the setting notify_recorded)."""
        url = self.url(self._create(f"valr_bench_{label}_{self.tag}", self.template))
        if notify_recorded:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("UPDATE lth_pvr.settings SET value = 1 WHERE name = 'notify_recorded'")
        return url

    def drop(self, url: str) -> None:
        name = conninfo_to_dict(url)["dbname"]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)

    def stop(self) -> None:
        if self.pg is not None:
            self.pg.stop()  # the whole throwaway cluster goes
            self.pg = None
            return
        for name in reversed(list(self.created)):
            try:
                self.drop(self.url(name))
            except psycopg.Error:
                pass


# -- the simulator ----------------------------------------------------------------------------------
def start_simulator(stamp_frames: bool = False, **budgets):
    """Manual matching (the bench says when orders fill) and VALR's budgets lifted: the bench compresses
    time, so budgets per real minute would measure the clock, not the design. `budgets` (SimConfig's
    enforce_limits, ws_connects_per_minute, rest_per_minute_*) puts scaled budgets back (figure 6)."""
    from worker.lab.sim import SimConfig, SimulatorThread

    sim = SimulatorThread(API_KEY, API_SECRET, config=SimConfig(
        mode="manual", stamp_frames=stamp_frames, seed=11, **{"enforce_limits": False, **budgets}))
    sim.start()
    return sim


def tear_down(cluster: "Cluster", url: str, sim, *parts) -> None:
    """The end of every figure: stop its observer and workers (None where never started), then the
    simulator, then drop its database."""
    for part in parts:
        if part is not None:
            part.stop()
    sim.stop()
    cluster.drop(url)


# -- worker processes -------------------------------------------------------------------------------
class BenchWorker:
    """`valr-monitor run` with persistent sessions, as a child process (see worker/lab/bench/worker.py)."""

    def __init__(self, database_url: str, sim_url: str, workdir: Path, name: str, *,
                 catch_up: float = 1.0, ws_per_minute: int = 1_000_000,
                 requests_per_minute: int = 1_000_000, extra_env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VALR_")}
        env.update(VALR_API_KEY=API_KEY, VALR_API_SECRET=API_SECRET, PYTHONUNBUFFERED="1")
        env.update(extra_env or {})  # other exchanges: <EXCHANGE>_BASE_URL and <REF>_API_KEY / _API_SECRET
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            guarded([sys.executable, "-m", "worker.lab.bench.worker", "--database-url", database_url,
                     "--valr-base-url", sim_url, "--worker-id", name, "--catch-up", str(catch_up),
                     "--ws-per-minute", str(ws_per_minute), "--requests-per-minute", str(requests_per_minute)]),
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def open_sockets(self) -> int:
        count = 0
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            try:
                if os.readlink(f"/proc/{self.proc.pid}/fd/{fd}").startswith("socket:"):
                    count += 1
            except OSError:
                pass
        return count

    def wait_started(self, timeout: float = 60) -> None:
        """Until its start-up is over (clock check, pair rules read: its "worker started" line)."""
        wait_for(lambda: "worker started" in self.log_path.read_text(errors="replace") or not self.alive(),
                 timeout, f"worker {self.name} to start")
        if not self.alive():
            raise RuntimeError(f"bench: worker {self.name} exited at start:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except OSError:
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- the observer -----------------------------------------------------------------------------------
def observe_main() -> None:
    """Child process: LISTEN on argv's channels, stamp every NOTIFY on arrival; each line "take" on stdin
    is answered with one JSON line of what it holds: [[arrival wall time, channel, payload], ...]."""
    url, channels = sys.argv[1], sys.argv[2:]
    seen: list[tuple[float, str, str]] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for channel in channels:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while True:
            for note in conn.notifies(timeout=0.05):
                seen.append((time.time(), note.channel, note.payload))
            if select.select([sys.stdin], [], [], 0)[0]:
                line = sys.stdin.readline()
                if not line or line.strip() == "stop":
                    return
                sys.stdout.write(json.dumps(seen) + "\n")
                sys.stdout.flush()
                seen = []


class Observer:
    """The LISTEN observer, in its own process so that nothing in the bench delays its clock."""

    def __init__(self, url: str, channels: Iterable[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from worker.lab.bench.env import observe_main; observe_main()",
             url, *channels], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("bench: the LISTEN observer did not start")

    def take(self) -> list[tuple[float, str, str]]:
        """Every notification since the last take: (arrival wall time, channel, payload)."""
        self.proc.stdin.write("take\n")
        self.proc.stdin.flush()
        return [tuple(item) for item in json.loads(self.proc.stdout.readline())]

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("stop\n")
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# -- SQL a user would type --------------------------------------------------------------------------
def insert_accounts(conn: psycopg.Connection, count: int, prefix: int) -> list[tuple[uuid.UUID, str]]:
    rows = conn.execute(
        """INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label)
           SELECT (%s + g)::text, 'bench ' || g FROM generate_series(1, %s) g
           RETURNING exchange_account_id, subaccount_id""", (prefix, count)).fetchall()
    conn.commit()
    return [(r[0], r[1]) for r in rows]


def insert_order(conn: psycopg.Connection, account_id: uuid.UUID, qty: str = "0.0001",
                 price: int = 1_150_000) -> uuid.UUID:
    intent = uuid.uuid4()
    conn.execute(
        """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty)
           VALUES (%s, %s, 'BTCZAR', 'BUY', %s, %s)""", (account_id, intent, price, qty))
    return intent


def count_status(conn: psycopg.Connection, *statuses: str) -> int:
    return conn.execute("SELECT count(*) FROM lth_pvr.exchange_orders WHERE status = ANY(%s)",
                        (list(statuses),)).fetchone()[0]


def frames_recorded(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(sum(events), 0) FROM lth_pvr.ws_sessions").fetchone()[0]


def wait_placed_and_watched(conn: psycopg.Connection, timeout: float) -> None:
    """Every order submitted and watched by an authenticated session."""
    def done() -> bool:
        row = conn.execute(
            """SELECT count(*) FILTER (WHERE status IN ('pending', 'placing')),
                      count(*) FILTER (WHERE status = 'submitted' AND ws_monitored_at IS NULL)
                 FROM lth_pvr.exchange_orders""").fetchone()
        return row == (0, 0)
    wait_for(done, timeout, "orders to be placed and watched", interval=0.05)


def events_for_the_worker(counters: dict) -> int:
    """Event frames the worker hands to SQL: the order and ledger events (ORDER_EVENTS); the others
    the worker counts and ignores, so they never reach ws_sessions.events."""
    return sum(n for kind, n in counters["ws_events_by_type"].items() if kind in ORDER_EVENTS)


def wait_quiet(conn: psycopg.Connection, sim, timeout: float, settle: float = 0.3, exact: bool = True) -> None:
    """Every event frame the simulator sent is recorded, and nothing moved for `settle` seconds.
    exact=False: only the latter (a session that closes because its last order ended drops the
    frames still in flight behind that order's final status, e.g. the empty OPEN_ORDERS_UPDATE)."""
    last: tuple | None = None
    since = time.monotonic()
    deadline = time.monotonic() + timeout
    while True:
        state = (events_for_the_worker(sim.counters()), frames_recorded(conn))
        if state != last:
            last, since = state, time.monotonic()
        elif (state[0] == state[1] or not exact) and time.monotonic() - since >= settle:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: the worker did not catch up with the simulator ({state})")
        time.sleep(0.05)


@dataclass
class Figure:
    """One figure's result: the JSON part and the table rows (label, value, floor, ratio, target)."""
    key: str
    data: dict
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
