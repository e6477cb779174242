"""Figures 10 and 11: the account ledger (issue 23).

Figure 10 — deposit → NOTIFY. The simulator makes fiat deposits in watched subaccounts at a steady pace
and stamps every frame as it sends it (stamp_frames); the worker records the deposit's
NEW_ACCOUNT_HISTORY_RECORD with the rest of its read (record_batch → record_ledger_frames), whose
commit sends NOTIFY lth_pvr_deposit; the LISTEN observer stamps it on arrival. Latency = arrival − the
frame's send, matched by VALR's transaction id. Floor: figure 1's — a bare one-row INSERT + NOTIFY, one
commit, observed by the same listener, at the same rate, halfway between the deposits.

Figure 11 — catch-up rows/s. N transactions (nine trades to one deposit) wait in the history of a
subaccount, none of them sent on its socket (history_drop); a person asks for its sync (request_ledger_sync) and the worker process
reads the history back over REST, newest first, 200 a page by beforeId, each page one
record_transaction_page call that commits its rows with the cursor, until the cursor is synced. Clock:
from the request's commit to the cursor seen synced (polled every 5 ms). Floor: the same rows (read
back from account_transactions) written again by a bare batched INSERT into a same-shaped table with
the same indexes, one statement and one commit per page: the database's part alone, no HTTP, no JSON.
"""

from __future__ import annotations

import json
import statistics
import time
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from worker.lab.bench.env import (
    BenchWorker, Figure, Observer, insert_accounts, start_simulator, summary_ms, tear_down, wait_for,
    wait_placed_and_watched, wait_quiet,
)
from worker.lab.bench.latency import WatchedAccounts, beside_floor, create_floor_table, floor_event, wait_until

PAGE = 200  # worker.valr.rest.HISTORY_PAGE
TRADES_PER_DEPOSIT = 9
CHUNK = 2_000  # transactions made per call into the simulator's loop


def run_ledger_figures(cluster, workdir: Path, quick: bool) -> tuple[Figure, Figure]:
    """Both figures share one database, one simulator and one worker."""
    url = cluster.database("ledger")
    sim = start_simulator(stamp_frames=True)
    worker = observer = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            create_floor_table(conn)
            watched = WatchedAccounts(conn, 10, 7_400_000)
            [(quiet_account, quiet_sub)] = insert_accounts(conn, 1, 7_500_000)
            worker = BenchWorker(url, sim.base_url, workdir, "ledger")
            observer = Observer(url, ["lth_pvr_deposit", "bench_floor"])
            wait_placed_and_watched(conn, 60)
            wait_quiet(conn, sim, 60)
            wait_for(lambda: all_synced(conn), 60, "every account's first ledger sync", interval=0.05)
            watched.load(conn)
            fig9 = deposit_to_notify(conn, sim, watched, observer, quick)
            fig10 = catch_up(conn, sim, quiet_account, quiet_sub, quick)
            return fig9, fig10
    finally:
        tear_down(cluster, url, sim, observer, worker)


def all_synced(conn: psycopg.Connection) -> bool:
    """Every account's cursor synced and re-scanned, nothing asked or claimed."""
    return conn.execute(
        """SELECT count(*) = (SELECT count(*) FROM lth_pvr.exchange_accounts)
                  AND bool_and(synced_at IS NOT NULL AND rescanned_at IS NOT NULL AND sync_requested_at IS NULL
                               AND sync_claimed_at IS NULL)
             FROM lth_pvr.ledger_cursors""").fetchone()[0]


# -- figure 10 -----------------------------------------------------------------------------------------
def steady_deposits(sim, subaccounts: list[str], per_s: float, seconds: float, between=None) -> list[str]:
    """Fiat deposits at a steady pace over the subaccounts, `between()` (the floor's event) halfway
    through each gap; returns their transaction ids."""
    count = max(1, int(per_s * seconds))
    start, ids = time.monotonic(), []
    for i in range(count):
        wait_until(start + i / per_s)
        ids += sim.deposit(subaccounts[i % len(subaccounts)], "ZAR", "100.00")["transactions"]
        if between is not None:
            wait_until(start + (i + 0.5) / per_s)
            between()
    return ids


def deposit_run(conn, sim, subaccounts: list[str], observer: Observer, per_s: float, seconds: float) -> tuple[dict, dict]:
    """One repetition: deposits, and the floor's events in the gaps between them (both sides see the
    same machine at the same moments, as figure 1's side_by_side). Returns (deposits, floor)."""
    observer.take()
    log_start = len(sim.frames())
    ids = steady_deposits(sim, subaccounts, per_s, seconds, lambda: floor_event(conn))
    notes: list = []

    def every_deposit_notified() -> bool:
        notes.extend(observer.take())
        return sum(1 for n in notes if n[1] == "lth_pvr_deposit") >= len(ids)
    wait_for(every_deposit_notified, 30, "a NOTIFY lth_pvr_deposit per deposit", interval=0.05)
    sent = {e["id"]: e["sent_at"] for e in sim.frames()[log_start:]
            if e["type"] == "NEW_ACCOUNT_HISTORY_RECORD" and "id" in e}
    arrived = {json.loads(payload)["transaction_id"]: at for at, channel, payload in notes if channel == "lth_pvr_deposit"}
    latencies = [arrived[i] - sent[i] for i in ids if i in arrived and i in sent]
    floor = [at - float(payload) for at, channel, payload in notes if channel == "bench_floor"]
    return {**summary_ms(latencies), "deposits": len(ids), "notified": len(arrived)}, summary_ms(floor)


def deposit_to_notify(conn, sim, watched: WatchedAccounts, observer: Observer, quick: bool) -> Figure:
    rate, seconds, reps = 100.0, (1.0 if quick else 5.0), (2 if quick else 5)
    subs = [sub for sub, _ in watched.targets]
    deposit_run(conn, sim, subs, observer, rate, 0.3)  # warm-up: plans cached
    runs, floors = [], []
    for _ in range(reps):
        run, floor = deposit_run(conn, sim, subs, observer, rate, seconds)
        runs.append(run)
        floors.append(floor)
    data = {
        "deposits_per_s": rate, "repetitions": reps, "seconds_each": seconds, "subaccounts": len(subs),
        **beside_floor(runs, floors),
        "deposits": sum(r["deposits"] for r in runs), "notified": sum(r["notified"] for r in runs),
    }
    fig = Figure("deposit_to_notify", data)
    fig.rows = [
        ("10 deposit → NOTIFY p50", f"{data['p50_ms']:.2f} ms", f"{data['floor_p50_ms']:.2f} ms",
         f"{data['ratio_p50']}×", ""),
        ("10 deposit → NOTIFY p99", f"{data['p99_ms']:.2f} ms", f"{data['floor_p99_ms']:.2f} ms",
         f"{data['ratio_p99']}×", "≤ 3× floor " + ("met" if data["meets_target"] else "MISSED")),
    ]
    fig.notes.append(f"figure 10: {rate:g} fiat deposits/s over {len(subs)} watched subaccounts, {reps}×{seconds:g} s, "
                     "medians; from the history record's send to NOTIFY lth_pvr_deposit's arrival; floor = one-row "
                     "INSERT + NOTIFY at the same rate, in the gaps between the deposits")
    return fig


# -- figure 11 -----------------------------------------------------------------------------------------
def fill_history(sim, subaccount: str, count: int) -> None:
    """`count` transactions, oldest first: nine trade records (with fee and orderId) to one fiat deposit."""
    def chunk(first: int, n: int) -> None:
        ledger = sim.sim.exchange.ledger
        for i in range(first, first + n):
            if i % (TRADES_PER_DEPOSIT + 1) == 0:
                ledger.deposit_fiat(subaccount, "ZAR", Decimal("250.00"))
                continue
            ledger.record(subaccount, "LIMIT_BUY", debit=("ZAR", Decimal("115.23")),
                          credit=("BTC", Decimal("0.0000999")), fee=("BTC", Decimal("0.0000001")),
                          info={"orderId": f"bench-{i // 3}", "tradeId": f"bench-trade-{i}"})
    for first in range(0, count, CHUNK):
        sim.call(chunk, first, min(CHUNK, count - first))


def catch_up(conn, sim, account, subaccount: str, quick: bool) -> Figure:
    count, reps = (450, 2) if quick else (20_000, 3)
    conn.execute("CREATE TABLE bench_transactions (LIKE lth_pvr.account_transactions INCLUDING ALL)")
    runs, floors = [], []
    for _ in range(reps):
        held = conn.execute("SELECT count(*) FROM lth_pvr.account_transactions WHERE exchange_account_id = %s",
                            (account,)).fetchone()[0]
        # Off the socket (the bench's worker keeps one open for every account: --max-session 0), so only
        # the catch-up brings them.
        sim.set_faults(history_drop=count)
        fill_history(sim, subaccount, count)
        newest = sim.ledger(subaccount)["transactions"][-1]["id"]
        [(asked_at,)] = conn.execute("SELECT now() FROM (SELECT lth_pvr.request_ledger_sync(%s)) r",
                                     (account,)).fetchall()
        start = time.perf_counter()
        wait_for(lambda: conn.execute(
            "SELECT synced_at > %s AND newest_transaction_id = %s FROM lth_pvr.ledger_cursors "
            "WHERE exchange_account_id = %s", (asked_at, newest, account)).fetchone()[0],
            300, "the catch-up to reach the newest transaction", interval=0.005)
        elapsed = time.perf_counter() - start
        got = conn.execute("SELECT count(*) FROM lth_pvr.account_transactions WHERE exchange_account_id = %s",
                           (account,)).fetchone()[0] - held
        runs.append({"transactions": count, "recorded": got, "seconds": round(elapsed, 3),
                     "rows_per_s": round(got / elapsed, 1)})
        floors.append(floor_pages(conn, account, asked_at))
    ours = statistics.median(r["rows_per_s"] for r in runs)
    floor = statistics.median(f["rows_per_s"] for f in floors)
    data = {"transactions": count, "repetitions": reps, "page": PAGE, "rows_per_s": ours, "floor_rows_per_s": floor,
            "ratio": round(ours / floor, 3), "target_rows_per_s": 10_000, "meets_target": ours >= 10_000,
            "recorded": sum(r["recorded"] for r in runs), "runs": runs, "floor_runs": floors}
    fig = Figure("catch_up", data)
    fig.rows = [("11 catch-up (rows/s, pages of 200)", f"{ours:,.0f}", f"{floor:,.0f}", f"{data['ratio']:.2f}",
                 "≥ 10,000 " + ("met" if data["meets_target"] else "MISSED"))]
    fig.notes.append(f"figure 11: {reps} catch-ups of {count:,} transactions (9 trades : 1 deposit) by the worker "
                     "over REST, from the request's commit to the cursor synced, median; floor = the same rows by "
                     "a bare batched INSERT, one statement and commit per page of 200")
    return fig


def floor_pages(conn: psycopg.Connection, account, since) -> dict:
    """The rows the catch-up wrote, written again by a bare INSERT per page of 200 (autocommit)."""
    rows = conn.execute(
        """SELECT coalesce(jsonb_agg(to_jsonb(t) || jsonb_build_object('transaction_id', 'floor-' || t.transaction_id)
                                     ORDER BY t.event_at DESC), '[]')
             FROM lth_pvr.account_transactions t WHERE exchange_account_id = %s AND recorded_at >= %s""",
        (account, since)).fetchone()[0]
    pages = [Jsonb(rows[i:i + PAGE]) for i in range(0, len(rows), PAGE)]
    start = time.perf_counter()
    for page in pages:
        conn.execute("INSERT INTO bench_transactions SELECT * FROM jsonb_populate_recordset(NULL::bench_transactions, %s)",
                     (page,))
    elapsed = time.perf_counter() - start
    return {"rows": len(rows), "pages": len(pages), "seconds": round(elapsed, 3),
            "rows_per_s": round(len(rows) / elapsed, 1) if elapsed else float("nan")}
