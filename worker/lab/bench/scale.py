"""Figure 6: many subaccounts on one worker, then two workers sharing them.

Each subaccount gets one open order; the worker (persistent sessions: --max-session 0, every account's
socket open; the ledger on: the REST catch-up after every connect) opens its account WebSocket,
authenticates, places the order. The cold start runs under VALR's budgets scaled in time (`SPEEDUP`×:
the simulator's and the database's 60 new account sockets a minute, the REST budgets likewise), so a
start that takes ~33 minutes at VALR's pace is measured in a couple: the connections a minute achieved
against those allowed give the time at VALR's own budget. Measured on one worker with every account
watched: the cold start, sockets held (simulator side and the worker's file descriptors), resident
memory, the catch-up's REST calls per connect, event → commit p50/p99 on a sample of the subaccounts
beside the floor of figure 1, the SQL functions' time per call (track_functions: what grows with the
sessions). Then a second worker joins: leases rebalance (acquire_leases' fair share), each subaccount
must end with exactly one open socket and one open session, and a burst of fills (as in figure 2)
gives the combined throughput.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import psycopg
from psycopg import sql

from worker.lab.bench.env import (
    BenchWorker, Figure, Observer, start_simulator, tear_down, wait_for, wait_placed_and_watched, wait_quiet,
)
from worker.lab.bench.latency import WatchedAccounts, side_by_side, steady_fills
from worker.lab.bench.throughput import burst

VALR_WS_PER_MINUTE = 60
VALR_REST_PER_MINUTE = {"key": 2000, "ip": 1200, "worker": 1000}  # the worker's own default budget
LEDGER_ROUTES = ("GET /v1/account/transactionhistory", "GET /v1/account/balances")


def valr_ramp_minutes(subaccounts: int, per_minute: int = VALR_WS_PER_MINUTE) -> float:
    """Sliding window of `per_minute` a minute: connection k opens at floor(k / per_minute) minutes."""
    return float((subaccounts - 1) // per_minute)


def ownership(conn: psycopg.Connection) -> dict:
    row = conn.execute(
        """SELECT count(*) FILTER (WHERE n > 1), count(*) FILTER (WHERE n = 1)
             FROM (SELECT exchange_account_id, count(*) AS n FROM lth_pvr.ws_sessions
                    WHERE closed_at IS NULL AND authenticated_at IS NOT NULL GROUP BY 1) s""").fetchone()
    leases = dict(conn.execute("SELECT worker_id, count(*) FROM lth_pvr.subaccount_leases GROUP BY 1").fetchall())
    return {"accounts_with_two_sessions": row[0], "accounts_with_one_session": row[1], "leases_by_worker": leases}


def watched_accounts(conn: psycopg.Connection) -> int:
    return conn.execute(
        """SELECT count(DISTINCT exchange_account_id) FROM lth_pvr.ws_sessions
            WHERE closed_at IS NULL AND authenticated_at IS NOT NULL""").fetchone()[0]


def caught_up_accounts(conn: psycopg.Connection) -> int:
    """Accounts whose catch-up after the connect is done (record_transaction_page clears the request)."""
    return conn.execute("""SELECT count(*) FROM lth_pvr.ledger_cursors
                            WHERE synced_at IS NOT NULL AND sync_requested_at IS NULL""").fetchone()[0]


def connect_rate(conn: psycopg.Connection) -> dict:
    """The connections of the cold start: their span and the most opened in any one minute."""
    row = conn.execute(
        """SELECT count(*), extract(epoch FROM max(opened_at) - min(opened_at)),
                  (SELECT max(n) FROM (SELECT count(*) AS n FROM lth_pvr.ws_sessions a
                                         JOIN lth_pvr.ws_sessions b ON b.opened_at >= a.opened_at
                                                                   AND b.opened_at < a.opened_at + interval '1 minute'
                                        GROUP BY a.session_id) w)
             FROM lth_pvr.ws_sessions""").fetchone()
    return {"connections": row[0], "span_s": round(float(row[1] or 0), 2), "max_in_any_minute": row[2]}


def function_costs(conn: psycopg.Connection, top: int = 10) -> list[dict]:
    """The SQL functions' calls and mean time per call so far (track_functions), most total time first."""
    rows = conn.execute(
        """SELECT funcname, calls, round(total_time::numeric, 1), round((total_time / calls)::numeric, 3)
             FROM pg_stat_user_functions WHERE schemaname = 'lth_pvr' AND calls > 0
            ORDER BY total_time DESC LIMIT %s""", (top,)).fetchall()
    return [{"function": r[0], "calls": r[1], "total_ms": float(r[2]), "ms_per_call": float(r[3])} for r in rows]


class ColdStart:
    """VALR's budgets, time-compressed `speedup`× on both sides: the simulator refuses beyond them (429)
    and the worker keeps within them (the database's connection budget, its REST budget)."""

    def __init__(self, speedup: int) -> None:
        self.speedup = speedup
        self.ws_per_minute = VALR_WS_PER_MINUTE * speedup

    def simulator(self):
        return start_simulator(stamp_frames=True, enforce_limits=True, ws_connects_per_minute=self.ws_per_minute,
                               rest_per_minute_key=VALR_REST_PER_MINUTE["key"] * self.speedup,
                               rest_per_minute_ip=VALR_REST_PER_MINUTE["ip"] * self.speedup,
                               orders_per_second=400 * self.speedup)

    def worker(self, url: str, sim, workdir: Path, name: str) -> BenchWorker:
        return BenchWorker(url, sim.base_url, workdir, name, ws_per_minute=self.ws_per_minute,
                           requests_per_minute=VALR_REST_PER_MINUTE["worker"] * self.speedup)

    def measure(self, conn: psycopg.Connection, sim, subaccounts: int, started: float) -> dict:
        """Waits until every account is watched, its order placed and its catch-up done."""
        wait_for(lambda: watched_accounts(conn) == subaccounts, 900, "every subaccount watched", interval=0.2)
        watched_s = time.monotonic() - started
        wait_placed_and_watched(conn, 600)
        wait_for(lambda: caught_up_accounts(conn) >= subaccounts, 900, "every catch-up done", interval=0.2)
        caught_up_s = time.monotonic() - started
        rate = connect_rate(conn)
        counters = sim.counters()
        ledger_calls = sum(n for route, n in counters["rest"].items() if route.startswith(LEDGER_ROUTES))
        ideal_s = valr_ramp_minutes(subaccounts, self.ws_per_minute) * 60
        overhead_s = max(0.0, watched_s - ideal_s)  # beyond what the budget imposes
        per_connect = ledger_calls / max(1, rate["connections"])
        return {
            "speedup": self.speedup, "ws_per_minute_allowed": self.ws_per_minute,
            "ws_per_minute_achieved": rate["max_in_any_minute"], "connections": rate["connections"],
            "ws_refused": counters["ws_refused"], "all_watched_s": round(watched_s, 2),
            "budget_bound_s": ideal_s, "overhead_s": round(overhead_s, 2), "caught_up_s": round(caught_up_s, 2),
            "valr_all_watched_minutes": round(valr_ramp_minutes(subaccounts) + overhead_s / 60, 1),
            "ledger_rest_calls": ledger_calls, "ledger_calls_per_connect": round(per_connect, 2),
            "valr_ledger_calls_per_minute": round(per_connect * VALR_WS_PER_MINUTE, 1),
            "rest_by_route": counters["rest"],
        }


def run_scale(cluster, workdir: Path, quick: bool) -> Figure:
    # --quick: 60 subaccounts, every connection inside the first (scaled) minute: the rate, not the wait.
    subaccounts, speedup, sample = (60, 100, 20) if quick else (2000, 20, 200)
    seconds, fills = (1.0, 600) if quick else (5.0, 4_000)
    url = cluster.database("scale", notify_recorded=True)
    cold = ColdStart(speedup)
    sim = cold.simulator()
    workers: list[BenchWorker] = []
    observer = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, sent_at float8 NOT NULL, "
                         "at timestamptz NOT NULL DEFAULT now())")
            conn.execute(sql.SQL("ALTER DATABASE {} SET track_functions = 'all'").format(sql.Identifier(conn.info.dbname)))
            watched = WatchedAccounts(conn, subaccounts, 7_700_000)
            observer = Observer(url, ["lth_pvr_recorded", "bench_floor"])
            started = time.monotonic()
            workers.append(cold.worker(url, sim, workdir, "scale_a"))
            start = cold.measure(conn, sim, subaccounts, started)
            wait_quiet(conn, sim, 120)
            watched.load(conn)
            one = workers[0]
            held = {"simulator_sockets_open": sim.counters()["ws_open"], "worker_sockets": one.open_sockets()}
            everyone = watched.targets
            watched.targets = everyone[::max(1, len(everyone) // sample)]  # fills on a sample, all watched
            steady_fills(sim, watched.targets, 200.0, 1.0)  # warm-up: the sample's first frames
            wait_quiet(conn, sim, 120)
            latency, floor = side_by_side(conn, sim, watched, observer, 200.0, seconds)
            rss = one.rss_mb()
            costs = function_costs(conn)
            watched.targets = everyone
            # A second worker joins: the first hands back leases beyond its fair share at its next tick.
            workers.append(cold.worker(url, sim, workdir, "scale_b"))
            half = math.ceil(subaccounts / 2)

            def rebalanced() -> bool:
                own = ownership(conn)
                return (own["leases_by_worker"].get("scale_b", 0) >= subaccounts - half
                        and own["accounts_with_one_session"] == subaccounts
                        and own["accounts_with_two_sessions"] == 0)
            rebalance_start = time.monotonic()
            wait_for(rebalanced, 600, "the second worker to take its share", interval=0.2)
            rebalance_s = time.monotonic() - rebalance_start
            wait_quiet(conn, sim, 120, exact=False)
            shared = ownership(conn)
            shared["simulator_sockets_open"] = sim.counters()["ws_open"]
            try:
                two = burst(conn, sim, workers, watched.targets, fills)
            except TimeoutError:  # the simulator (one thread, every socket) did not keep up: said, not hidden
                two = {"events_per_s": float("nan"), "fills": 0, "timed_out": True}
            rss_two = [w.rss_mb() for w in workers]
    finally:
        tear_down(cluster, url, sim, observer, *workers)
    data = {
        "subaccounts": subaccounts, "max_session": 0, "ramp_s": start["all_watched_s"],
        "valr_ramp_minutes": start["valr_all_watched_minutes"], "cold_start": start, **held, "rss_mb": rss,
        "p50_ms": latency["p50_ms"], "p99_ms": latency["p99_ms"], "max_ms": latency["max_ms"],
        "floor_p50_ms": floor["p50_ms"], "floor_p99_ms": floor["p99_ms"],
        "latency_events_per_s": 200.0, "latency_samples": latency["n"], "latency_subaccounts": sample,
        "function_costs": costs,
        "two_workers": {"rebalance_s": round(rebalance_s, 2), **shared,
                        "each_owned_once": shared["accounts_with_two_sessions"] == 0
                        and shared["accounts_with_one_session"] == subaccounts,
                        "events_per_s": two["events_per_s"], "fills": two["fills"], "rss_mb": rss_two,
                        "burst_timed_out": two.get("timed_out", False)},
    }
    fig = Figure("scale", data)
    fig.rows = [
        (f"6 {subaccounts:,} subaccounts, one worker: all watched", f"{start['all_watched_s']:.1f} s",
         f"{start['ws_per_minute_allowed']:,}/min allowed ({speedup}× VALR's)",
         f"{start['ws_per_minute_achieved']:,}/min", "reported"),
        ("6 cold start at VALR's 60/min", f"{start['valr_all_watched_minutes']:.1f} min",
         f"budget alone: {valr_ramp_minutes(subaccounts):.0f} min", "", "reported"),
        ("6 catch-up REST calls per connect", f"{start['ledger_calls_per_connect']:.2f}",
         f"{start['valr_ledger_calls_per_minute']:.0f}/min at VALR's pace",
         f"of {VALR_REST_PER_MINUTE['worker']:,}/min", "reported"),
        ("6 sockets held (simulator / worker fds)",
         f"{held['simulator_sockets_open']:,} / {held['worker_sockets']:,}", "", "", "reported"),
        ("6 worker RSS, all watched", f"{rss:.0f} MB", "", "", "reported"),
        (f"6 event → commit p50/p99 at 200/s, {sample} of {subaccounts:,}",
         f"{data['p50_ms']:.1f} / {data['p99_ms']:.1f} ms",
         f"{data['floor_p50_ms']:.1f} / {data['floor_p99_ms']:.1f} ms", "", "reported"),
        ("6 two workers: owned once / throughput",
         f"{'yes' if data['two_workers']['each_owned_once'] else 'NO'} / {two['events_per_s']:,.0f} ev/s",
         "", "", f"leases {shared['leases_by_worker']}"),
    ]
    fig.notes.append(f"figure 6: --max-session 0, ledger on; VALR's budgets {speedup}× faster on both sides "
                     f"({start['ws_refused']} sockets refused); second worker rebalanced in {rebalance_s:.1f} s; "
                     f"two-worker burst of {fills:,} fills over {subaccounts:,} subaccounts")
    return fig
