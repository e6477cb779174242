"""Figure 2: order events recorded per second by one worker when the simulator sends as fast as it can.

Subaccounts each hold one large open order (a fresh one per repetition, filled to its end after it,
so open-orders lists stay short and no order accumulates fills across repetitions). With the worker paused (SIGSTOP) the simulator makes a
backlog of fills — each a NEW_ACCOUNT_TRADE, an ORDER_STATUS_UPDATE, the OPEN_ORDERS_UPDATE and the
ledger's frames VALR sends with them (a BALANCE_UPDATE per asset, a NEW_ACCOUNT_HISTORY_RECORD) — so it only has to push ready frames; the clock starts when the worker resumes and
stops when the last frame's commit is seen (polled every few ms). Events = trades + status updates.

Floor: the same rows the worker wrote (its order_events, order_fills and account_transactions rows, read
back as JSON, and the balance rows each fill moved, upserted) written by a bare batched insert into
same-shaped tables with the same indexes — one statement per batch, one round trip and one commit per
batch, as many batches as the worker made record_batch calls.
"""

from __future__ import annotations

import itertools
import statistics
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from worker.lab.bench.env import (
    BenchWorker, Figure, events_for_the_worker, frames_recorded, start_simulator, tear_down, wait_placed_and_watched,
    wait_quiet,
)
from worker.lab.bench.latency import FILL_QTY, WatchedAccounts

CHUNK = 500          # fills per call into the simulator's loop


def make_backlog(sim, targets: list[tuple[str, str]], fills: int) -> None:
    def chunk(first: int, count: int) -> None:
        for i in range(first, first + count):
            sub, ext = targets[i % len(targets)]
            sim.sim.fill(ext, quantity=FILL_QTY, subaccount_id=sub)
    for first in range(0, fills, CHUNK):
        sim.call(chunk, first, min(CHUNK, fills - first))


def unsent(sim) -> int:
    """Frames the simulator has queued on its account sockets and not sent yet."""
    return sim.call(lambda: sum(conn.queue.qsize() for conn in sim.sim.hub.connections))


def burst(conn: psycopg.Connection, sim, workers: list[BenchWorker], targets: list[tuple[str, str]],
          fills: int, timeout: float = 300) -> dict:
    """One measured burst; returns events/s, frames/s, and the worker's record_batch calls. It ends when
    every frame the simulator queued is sent and recorded: each fill's trade, status and open-orders
    list and the ledger's frames VALR sends with it (two balances, a history record). The end is the
    first poll (every POLL_S) that saw the sessions' recorded frames at their final count: the system
    ships without a NOTIFY per recording commit (the setting notify_recorded), so the bench does not
    add one."""
    wait_quiet(conn, sim, 60, exact=False)
    first_event = conn.execute("SELECT coalesce(max(event_id), 0) FROM lth_pvr.order_events").fetchone()[0]
    first_fill = conn.execute("SELECT coalesce(max(fill_id), 0) FROM lth_pvr.order_fills").fetchone()[0]
    since = conn.execute("SELECT now()").fetchone()[0]
    reads_before = recording_calls(conn)
    sent_before = events_for_the_worker(sim.counters())
    # Frames sent before and never recorded (a session closed behind its last order's final status).
    dropped = sent_before - frames_recorded(conn)
    for w in workers:
        w.pause()
    try:
        make_backlog(sim, targets, fills)
    finally:
        start = time.time()
        for w in workers:
            w.resume()
    end = recorded_at_last(conn, sim, dropped, timeout)
    frames = events_for_the_worker(sim.counters()) - sent_before
    batches = recording_calls(conn) - reads_before
    elapsed = end - start
    return {"fills": fills, "events": 2 * fills, "frames": frames, "seconds": round(elapsed, 3),
            "events_per_s": round(2 * fills / elapsed, 1), "frames_per_s": round(frames / elapsed, 1),
            "batches": batches, "mean_batch_frames": round(frames / batches, 2) if batches else 0,
            "first_event_id": first_event, "first_fill_id": first_fill, "first_recorded_at": since}


POLL_S = 0.004       # the burst's end is known to within this (a 10,000-fill burst lasts seconds)
SIM_EVERY = 12       # polls between two looks at the simulator's queues (they cost its loop a turn)


def recorded_at_last(conn: psycopg.Connection, sim, dropped: int, timeout: float) -> float:
    """The time of the first poll that saw every frame the simulator sent recorded (less `dropped`):
    the recorded count is polled every POLL_S, the simulator's queues and counters less often."""
    deadline = time.monotonic() + timeout
    reached: tuple[int, float] | None = None  # (count, first time it was seen)
    sent: int | None = None
    for turn in itertools.count():
        recorded, now = frames_recorded(conn), time.time()
        if reached is None or recorded != reached[0]:
            reached = (recorded, now)
        if turn % SIM_EVERY == 0:
            sent = events_for_the_worker(sim.counters()) if unsent(sim) == 0 else None
        if sent is not None and sent - recorded <= dropped:
            return reached[1]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for the burst to be recorded")
        time.sleep(POLL_S)


def recording_calls(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT coalesce(sum(reads), 0) FROM lth_pvr.ws_sessions").fetchone()[0])


# -- the floor --------------------------------------------------------------------------------------
EVENT_COLS = ("exchange_order_id", "exchange_account_id", "source", "kind", "outcome", "old_status",
              "new_status", "exchange_time", "received_at", "detail", "payload")
FILL_COLS = ("trade_id", "exchange_order_id", "price", "qty", "fee", "fee_currency", "traded_at", "sequence_id",
             "source", "recorded_at")


BALANCE_COLS = ("exchange_account_id", "currency", "available", "reserved", "total", "updated_at", "recorded_at",
                "source", "raw")


def create_floor_tables(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE bench_events (LIKE lth_pvr.order_events INCLUDING ALL)")
    conn.execute("CREATE TABLE bench_fills (LIKE lth_pvr.order_fills INCLUDING ALL)")
    conn.execute("CREATE TABLE bench_transactions (LIKE lth_pvr.account_transactions INCLUDING ALL)")
    conn.execute("CREATE TABLE bench_balances (LIKE lth_pvr.balances INCLUDING ALL)")


def ledger_rows(conn: psycopg.Connection, run: dict) -> tuple[list, list]:
    """The ledger's rows of `run`: its account_transactions rows (fresh ids), and per transaction the
    balance rows of its account that it moved (one BALANCE_UPDATE per asset with each fill), upserted."""
    transactions = conn.execute(
        "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.event_at, t.transaction_id), '[]') "
        "FROM lth_pvr.account_transactions t WHERE t.recorded_at >= %s", (run["first_recorded_at"],)).fetchone()[0]
    held = conn.execute(sql.SQL(
        "SELECT exchange_account_id::text, currency, jsonb_build_object({}) FROM lth_pvr.balances").format(
        _pairs(BALANCE_COLS))).fetchall()
    by_currency = {(account, currency): row for account, currency, row in held}
    for row in transactions:
        row["transaction_id"] = f"floor-{run['first_fill_id']}-{row['transaction_id']}"
    moved = [by_currency[(row["exchange_account_id"], currency)] for row in transactions
             for currency in (row["debit_currency"], row["credit_currency"])
             if (row["exchange_account_id"], currency) in by_currency]
    return transactions, moved


def floor_insert(conn: psycopg.Connection, run: dict, ledger: bool = True) -> dict:
    """The rows the worker wrote during `run`, written again by a bare batched insert. ledger=False: its
    order_events and order_fills rows only (the floor until the ledger's frames were recorded)."""
    events = conn.execute(sql.SQL(
        "SELECT coalesce(jsonb_agg(jsonb_build_object({}) ORDER BY event_id), '[]') "
        "FROM lth_pvr.order_events WHERE event_id > %s").format(_pairs(EVENT_COLS)),
        (run["first_event_id"],)).fetchone()[0]
    fills = conn.execute(sql.SQL(
        "SELECT coalesce(jsonb_agg(jsonb_build_object({}) ORDER BY fill_id), '[]') "
        "FROM lth_pvr.order_fills WHERE fill_id > %s").format(_pairs(FILL_COLS)),
        (run["first_fill_id"],)).fetchone()[0]
    # Fresh trade ids: bench_fills keeps the unique index, and repetitions reuse the table.
    for row in fills:
        row["trade_id"] = f"floor-{run['first_fill_id']}-{int(ledger)}-{row['trade_id']}"
    transactions, balances = ledger_rows(conn, run) if ledger else ([], [])
    batches = max(1, run["batches"])
    insert = sql.SQL(
        "WITH e AS (INSERT INTO bench_events ({ev}) SELECT {ev} FROM jsonb_populate_recordset(NULL::bench_events, %s)), "
        "f AS (INSERT INTO bench_fills ({fi}) SELECT {fi} FROM jsonb_populate_recordset(NULL::bench_fills, %s)), "
        "t AS (INSERT INTO bench_transactions SELECT * FROM jsonb_populate_recordset(NULL::bench_transactions, %s)), "
        "b AS (INSERT INTO bench_balances AS old ({ba}) SELECT DISTINCT ON (exchange_account_id, currency) {ba} "
        "      FROM jsonb_populate_recordset(NULL::bench_balances, %s) "
        "      ON CONFLICT (exchange_account_id, currency) DO UPDATE SET available = excluded.available, "
        "         reserved = excluded.reserved, total = excluded.total, updated_at = excluded.updated_at, "
        "         recorded_at = excluded.recorded_at, raw = excluded.raw) "
        "SELECT 1").format(ev=_columns(EVENT_COLS), fi=_columns(FILL_COLS), ba=_columns(BALANCE_COLS))
    prepared = [tuple(Jsonb(_slice(rows, i, batches)) for rows in (events, fills, transactions, balances))
                for i in range(batches)]
    start = time.perf_counter()
    for params in prepared:
        conn.execute(insert, params)  # autocommit: one round trip, one commit
    elapsed = time.perf_counter() - start
    return {"seconds": round(elapsed, 3), "event_rows": len(events), "fill_rows": len(fills),
            "transaction_rows": len(transactions), "balance_rows": len(balances), "batches": batches,
            "events_per_s": round(run["events"] / elapsed, 1)}


def _columns(cols: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in cols)


def _pairs(cols: tuple[str, ...]) -> sql.Composable:
    """'name', name, … for jsonb_build_object."""
    return sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(c), sql.Identifier(c)) for c in cols)


def _slice(rows: list, i: int, parts: int) -> list:
    return rows[len(rows) * i // parts: len(rows) * (i + 1) // parts]


def run_throughput(cluster, workdir: Path, quick: bool) -> Figure:
    # --quick (the suite's smoke) proves the burst, its matching and the floor once, on fewer sockets.
    subaccounts, fills, reps = (20, 1000, 2) if quick else (50, 10_000, 3)
    url = cluster.database("throughput")
    sim = start_simulator()
    worker = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            create_floor_tables(conn)
            watched = WatchedAccounts(conn, subaccounts, 7_300_000)
            worker = BenchWorker(url, sim.base_url, workdir, "throughput")
            runs, floors, order_floors = [], [], []
            for rep in range(reps + 1):
                if rep:
                    watched.add_orders(conn)
                wait_placed_and_watched(conn, 120)
                watched.load(conn)
                run = burst(conn, sim, [worker], watched.targets, fills if rep else fills // 5)
                if rep:  # the first burst warms up (plans cached, pool connections open)
                    runs.append(run)
                    floors.append(floor_insert(conn, run))
                    order_floors.append(floor_insert(conn, run, ledger=False))
                watched.complete(sim)
            rss = worker.rss_mb()
    finally:
        tear_down(cluster, url, sim, worker)
    ours = statistics.median(r["events_per_s"] for r in runs)
    floor = statistics.median(f["events_per_s"] for f in floors)
    order_floor = statistics.median(f["events_per_s"] for f in order_floors)
    data = {"subaccounts": subaccounts, "fills_per_run": fills, "repetitions": reps,
            "events_per_s": ours, "frames_per_s": statistics.median(r["frames_per_s"] for r in runs),
            "frames": int(statistics.median(r["frames"] for r in runs)),
            "floor_events_per_s": floor, "ratio": round(ours / floor, 3),
            "mean_batch_frames": statistics.median(r["mean_batch_frames"] for r in runs),
            "worker_rss_mb": rss, "target_events_per_s": 5000, "meets_target": ours >= 5000,
            "target_ratio": 0.5, "meets_target_ratio": ours / floor >= 0.5,
            "runs": [{k: v for k, v in r.items() if not k.startswith("first_")} for r in runs], "floor_runs": floors,
            "order_rows_floor_events_per_s": order_floor, "order_rows_ratio": round(ours / order_floor, 3)}
    fig = Figure("throughput", data)
    fig.rows = [("2 throughput (events/s, one worker)", f"{ours:,.0f}", f"{floor:,.0f}", f"{data['ratio']:.2f}",
                 "≥ 5,000 " + ("met" if data["meets_target"] else "MISSED") + ", ≥ 0.5× floor "
                 + ("met" if data["meets_target_ratio"] else "MISSED"))]
    fig.notes.append(f"figure 2: {reps} bursts of {fills:,} fills ({2 * fills:,} events, {data['frames']:,} frames) over "
                     f"{subaccounts} subaccounts, median; {data['frames_per_s']:,.0f} frames/s; mean "
                     f"{data['mean_batch_frames']} frames per record_batch; floor = the same rows by a bare "
                     f"batched insert, same number of batches (order_events and order_fills rows only, as until "
                     f"2026-12-06: {order_floor:,.0f}, ratio {data['order_rows_ratio']:.2f})")
    return fig
