"""Figure 6: many subaccounts on one worker, then two workers sharing them.

Each subaccount gets one open order; the worker opens its account WebSocket, authenticates, places
the order (the simulator's connection budget lifted, and the worker's: the real ramp under VALR's 60
new connections a minute is computed and reported apart). Measured on one worker: ramp time, sockets
held (simulator side and the worker's file descriptors), resident memory, event → commit p99 at 200
events/s spread over every subaccount. Then a second worker joins: leases rebalance (acquire_leases'
fair share), each subaccount must end with exactly one open socket and one open session, and a burst
of fills (as in figure 2) gives the combined throughput.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import psycopg

from worker.lab.bench.env import (
    BenchWorker, Figure, Observer, start_simulator, tear_down, wait_for, wait_placed_and_watched, wait_quiet,
)
from worker.lab.bench.latency import WatchedAccounts, steady_fills, worker_event_latency
from worker.lab.bench.throughput import burst

VALR_WS_PER_MINUTE = 60


def valr_ramp_minutes(subaccounts: int) -> float:
    """Sliding window of 60 a minute: connection k opens at floor(k / 60) minutes."""
    return float((subaccounts - 1) // VALR_WS_PER_MINUTE)


def ownership(conn: psycopg.Connection) -> dict:
    row = conn.execute(
        """SELECT count(*) FILTER (WHERE n > 1), count(*) FILTER (WHERE n = 1)
             FROM (SELECT exchange_account_id, count(*) AS n FROM lth_pvr.ws_sessions
                    WHERE closed_at IS NULL AND authenticated_at IS NOT NULL GROUP BY 1) s""").fetchone()
    leases = dict(conn.execute("SELECT worker_id, count(*) FROM lth_pvr.subaccount_leases GROUP BY 1").fetchall())
    return {"accounts_with_two_sessions": row[0], "accounts_with_one_session": row[1], "leases_by_worker": leases}


def run_scale(cluster, workdir: Path, quick: bool) -> Figure:
    subaccounts = 60 if quick else 1000
    seconds, fills = (1.0, 600) if quick else (5.0, 10_000)
    url = cluster.database("scale")
    sim = start_simulator(stamp_frames=True)
    workers: list[BenchWorker] = []
    observer = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            watched = WatchedAccounts(conn, subaccounts, 7_700_000)
            observer = Observer(url, ["lth_pvr_recorded"])
            started = time.monotonic()
            workers.append(BenchWorker(url, sim.base_url, workdir, "scale_a"))
            wait_placed_and_watched(conn, 600)
            ramp_s = time.monotonic() - started
            wait_quiet(conn, sim, 120)
            watched.load(conn)
            one = workers[0]
            held = {"simulator_sockets_open": sim.counters()["ws_open"], "worker_sockets": one.open_sockets()}
            steady_fills(sim, watched.targets, 200.0, 1.0)  # warm-up: every session's first frames
            wait_quiet(conn, sim, 120)
            latency = worker_event_latency(conn, sim, watched, observer, 200.0, seconds)
            rss = one.rss_mb()
            # A second worker joins: the first hands back leases beyond its fair share at its next tick.
            workers.append(BenchWorker(url, sim.base_url, workdir, "scale_b"))
            half = math.ceil(subaccounts / 2)

            def rebalanced() -> bool:
                own = ownership(conn)
                return (own["leases_by_worker"].get("scale_b", 0) >= subaccounts - half
                        and own["accounts_with_one_session"] == subaccounts
                        and own["accounts_with_two_sessions"] == 0)
            rebalance_start = time.monotonic()
            wait_for(rebalanced, 300, "the second worker to take its share", interval=0.2)
            rebalance_s = time.monotonic() - rebalance_start
            wait_quiet(conn, sim, 120, exact=False)
            shared = ownership(conn)
            shared["simulator_sockets_open"] = sim.counters()["ws_open"]
            two = burst(conn, sim, workers, watched.targets, observer, fills)
            rss_two = [w.rss_mb() for w in workers]
    finally:
        tear_down(cluster, url, sim, observer, *workers)
    data = {
        "subaccounts": subaccounts, "ramp_s": round(ramp_s, 2),
        "valr_ramp_minutes": valr_ramp_minutes(subaccounts), **held, "rss_mb": rss,
        "p50_ms": latency["p50_ms"], "p99_ms": latency["p99_ms"], "max_ms": latency["max_ms"],
        "latency_events_per_s": 200.0, "latency_samples": latency["n"],
        "two_workers": {"rebalance_s": round(rebalance_s, 2), **shared,
                        "each_owned_once": shared["accounts_with_two_sessions"] == 0
                        and shared["accounts_with_one_session"] == subaccounts,
                        "events_per_s": two["events_per_s"], "fills": two["fills"], "rss_mb": rss_two},
    }
    fig = Figure("scale", data)
    fig.rows = [
        (f"6 {subaccounts:,} subaccounts, one worker: ramp", f"{data['ramp_s']:.1f} s",
         f"VALR 60/min: {data['valr_ramp_minutes']:.0f} min", "", "reported"),
        ("6 sockets held (simulator / worker fds)",
         f"{held['simulator_sockets_open']:,} / {held['worker_sockets']:,}", "", "", "reported"),
        ("6 worker RSS", f"{rss:.0f} MB", "", "", "reported"),
        ("6 event → commit p50/p99 at 200/s", f"{data['p50_ms']:.1f} / {data['p99_ms']:.1f} ms", "", "", "reported"),
        ("6 two workers: owned once / throughput",
         f"{'yes' if data['two_workers']['each_owned_once'] else 'NO'} / {two['events_per_s']:,.0f} ev/s",
         "", "", f"leases {shared['leases_by_worker']}"),
    ]
    fig.notes.append(f"figure 6: budgets lifted on both sides; second worker rebalanced in {rebalance_s:.1f} s; "
                     f"two-worker burst of {fills:,} fills over {subaccounts:,} subaccounts")
    return fig
