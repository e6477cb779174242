"""Figure 7: one subaccount with many open orders (issue 14 item 4).

VALR sends the account's whole open-orders list after every order change, so with 1,000 open orders
in one subaccount every fill brings a 1,000-item OPEN_ORDERS_UPDATE with its trade and status frames.
Measured in one run, one worker, one subaccount: fill event → commit p50/p99 at a steady pace with a
single open order (the normal figure), then again once 1,000 orders are open in that subaccount
(inserted at once: the worker places them while every placement brings a longer list); worker RSS
before, at its peak while the orders are placed, and after the fills; the frames the worker recorded
and those it dropped because a newer open-orders list of the same read superseded them.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from worker.lab.bench.env import (
    BenchWorker, Figure, Observer, count_status, insert_order, median_of, start_simulator, tear_down,
    wait_placed_and_watched, wait_quiet,
)
from worker.lab.bench.latency import WatchedAccounts, worker_event_latency

RATE = 20.0  # order events a second (10 fills): a busy single subaccount, each fill a full list


def frame_counts(conn: psycopg.Connection) -> dict:
    row = conn.execute("SELECT coalesce(sum(events), 0), coalesce(sum(superseded), 0) "
                       "FROM lth_pvr.ws_sessions").fetchone()
    return {"frames_received": int(row[0]), "lists_superseded": int(row[1])}


def crowd(conn: psycopg.Connection, worker: BenchWorker, account_id, count: int, timeout: float) -> dict:
    """Insert `count` orders into one subaccount at once; wait until all are placed and watched,
    sampling the worker's RSS meanwhile. Returns the time taken and the RSS peak."""
    for _ in range(count):
        insert_order(conn, account_id, qty="0.0001", price=1_000_000)
    started = time.monotonic()
    peak = worker.rss_mb()
    deadline = started + timeout
    while True:
        peak = max(peak, worker.rss_mb())
        row = conn.execute(
            """SELECT count(*) FILTER (WHERE status IN ('pending', 'placing')),
                      count(*) FILTER (WHERE status = 'submitted' AND ws_monitored_at IS NULL)
                 FROM lth_pvr.exchange_orders""").fetchone()
        if row == (0, 0):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: {count} orders in one subaccount not placed and watched in {timeout:g} s "
                               f"(pending/placing, unwatched: {row}); worker RSS peak {peak} MB")
        time.sleep(0.2)
    return {"placed_s": round(time.monotonic() - started, 2), "rss_peak_mb": peak}


def run_crowded(cluster, workdir: Path, quick: bool) -> Figure:
    open_orders = 100 if quick else 1000
    seconds, reps = (1.0, 1) if quick else (5.0, 3)
    url = cluster.database("crowded", notify_recorded=True)
    sim = start_simulator(stamp_frames=True)
    worker = observer = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            watched = WatchedAccounts(conn, 1, 7_300_000)  # one subaccount, one large order
            worker = BenchWorker(url, sim.base_url, workdir, "crowded")
            observer = Observer(url, ["lth_pvr_recorded"])
            wait_placed_and_watched(conn, 60)
            wait_quiet(conn, sim, 60)
            watched.load(conn)
            worker_event_latency(conn, sim, watched, observer, RATE, 0.5)  # warm-up
            normal = [worker_event_latency(conn, sim, watched, observer, RATE, seconds) for _ in range(reps)]
            rss_before = worker.rss_mb()
            ramp = crowd(conn, worker, watched.accounts[0][0], open_orders - 1, 600)
            wait_quiet(conn, sim, 600)
            crowded = [worker_event_latency(conn, sim, watched, observer, RATE, seconds) for _ in range(reps)]
            rss_after = worker.rss_mb()
            counts = frame_counts(conn)
            still_open = count_status(conn, "submitted")
    finally:
        tear_down(cluster, url, sim, observer, worker)
    return crowded_figure(open_orders, still_open, seconds, reps, normal, crowded, rss_before, ramp, rss_after,
                          counts)


def crowded_figure(open_orders, still_open, seconds, reps, normal, crowded, rss_before, ramp, rss_after,
                   counts) -> Figure:
    data = {
        "open_orders": open_orders, "open_orders_at_end": still_open, "events_per_s": RATE,
        "repetitions": reps, "seconds_each": seconds,
        "p50_ms": median_of(crowded, "p50_ms"), "p99_ms": median_of(crowded, "p99_ms"),
        "max_ms": median_of(crowded, "max_ms"),
        "normal_p50_ms": median_of(normal, "p50_ms"), "normal_p99_ms": median_of(normal, "p99_ms"),
        "normal_max_ms": median_of(normal, "max_ms"),
        "rss_before_mb": rss_before, "rss_peak_mb": ramp["rss_peak_mb"], "rss_after_mb": rss_after,
        "placed_s": ramp["placed_s"], **counts,
        "samples": sum(r["n"] for r in crowded), "normal_samples": sum(r["n"] for r in normal),
        "unrecorded": sum(r["unrecorded"] for r in normal + crowded),
        "last_mismatch": sum(r["last_mismatch"] for r in normal + crowded),
        "runs": crowded, "normal_runs": normal,
    }
    data["ratio_p50"] = round(data["p50_ms"] / data["normal_p50_ms"], 2)
    data["ratio_p99"] = round(data["p99_ms"] / data["normal_p99_ms"], 2)
    fig = Figure("crowded_subaccount", data)
    fig.rows = [
        (f"7 fill → commit p50/p99, {open_orders:,} open in one subaccount",
         f"{data['p50_ms']:.2f} / {data['p99_ms']:.2f} ms",
         f"1 open: {data['normal_p50_ms']:.2f} / {data['normal_p99_ms']:.2f} ms",
         f"{data['ratio_p50']}× / {data['ratio_p99']}×", "reported"),
        ("7 worker RSS before / peak placing / after", f"{rss_before:.0f} / {ramp['rss_peak_mb']:.0f} / "
         f"{rss_after:.0f} MB", "", "", "reported"),
        ("7 frames received / lists superseded", f"{counts['frames_received']:,} / {counts['lists_superseded']:,}",
         "", "", f"placed in {ramp['placed_s']:.1f} s"),
    ]
    fig.notes.append(f"figure 7: {RATE:g} order events/s on one subaccount, {reps}×{seconds:g} s, medians of the "
                     f"repetitions; first with one open order, then with {open_orders:,} (the same worker)")
    return fig
