"""Figure 9: REST calls per hour to keep the ledgers of N subaccounts without sockets current, with the
primary key's across-subaccount reads (one window of GET /v1/account/transactionhistory/subaccounts,
paged, and one GET /v1/account/balances/all) against per-subaccount reads (two calls per subaccount,
three with the re-scan) — both sides in the same run, each on a fresh database and simulator.

Counted, not waited for: each side runs the worker's own sync code (claim_ledger_batch → sync_across,
then claim_ledger_syncs → sync_ledger, as Runner._sync_ledgers does) in-process for one sync round of
every account, and the simulator counts the calls. Per hour = a round's calls × 60 / ledger_sync_minutes
(every account is due once per ledger_sync_minutes) plus the extra calls of a round with the re-scan
due, once per ledger_rescan_hours. Before each round a tenth of the subaccounts get a deposit (the
window's pages grow with the transactions, not with the subaccounts); the first sync of each account
(per account: nothing proved yet) is made before counting. The per-subaccount side is the key VALR
refuses the across-subaccount routes (a row in ledger_across_refusals).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from worker.daemon.ledger import sync_across, sync_ledger
from worker.db.store import Store
from worker.lab.bench.env import API_KEY, API_SECRET, Figure, insert_accounts, start_simulator, tear_down
from worker.valr import Credentials, ValrClient

LEDGER_ROUTES = ("/v1/account/transactionhistory", "/v1/account/balances")


async def sync_round(url: str, sim_url: str) -> None:
    """Every due account synced once, the way the worker does it (one batch first, then per account)."""
    pool = AsyncConnectionPool(url, min_size=1, max_size=2, open=False, name="bench ledger",
                               kwargs={"autocommit": True, "row_factory": dict_row})
    client = ValrClient(sim_url, Credentials(API_KEY, API_SECRET), requests_per_minute=10**7)
    try:
        await pool.open(wait=True, timeout=10)
        store = Store(pool, "bench-ledger")
        batch = await store.claim_ledger_batch()
        if batch:
            await sync_across(client, store, batch)
        while claims := await store.claim_ledger_syncs(limit=200):
            for claim in claims:
                await sync_ledger(client, store, claim)
    finally:
        await client.aclose()
        await pool.close()


def ledger_calls(counters: dict) -> int:
    return sum(n for route, n in counters["rest"].items() if any(r in route for r in LEDGER_ROUTES))


def measure(cluster, subaccounts: int, across: bool) -> dict:
    side = "across" if across else "per_account"
    url = cluster.database(f"ledger_{side}")
    sim = start_simulator()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            # The round's deposits are read in this round (the shipped lag leaves the last 30 s to the next).
            conn.execute("UPDATE lth_pvr.settings SET value = 0 WHERE name = 'ledger_window_lag_seconds'")
            if not across:
                conn.execute("INSERT INTO lth_pvr.ledger_across_refusals VALUES (now(), 'bench', 'per-account side')")
            accounts = insert_accounts(conn, subaccounts, 8_100_000)
            asyncio.run(sync_round(url, sim.base_url))  # the first syncs: not counted
            sync_minutes, rescan_hours = (float(conn.execute("SELECT lth_pvr.setting(%s)", (name,)).fetchone()[0])
                                          for name in ("ledger_sync_minutes", "ledger_rescan_hours"))
            rounds = {}
            for name, rescan in (("round", False), ("round_with_rescan", True)):
                for _, sub in accounts[:max(1, subaccounts // 10)]:
                    sim.deposit(sub, "ZAR", "10")
                # Due again: the sync (and in the second round the re-scan) last happened past its interval.
                conn.execute("UPDATE lth_pvr.ledger_cursors SET synced_at = synced_at - make_interval(mins => %s), "
                             "rescanned_at = rescanned_at - make_interval(hours => %s)",
                             (int(sync_minutes) + 1, int(rescan_hours) + 1 if rescan else 0))
                sim.reset_counters()
                started = time.monotonic()
                asyncio.run(sync_round(url, sim.base_url))
                counters = sim.counters()
                rounds[name] = {"calls": ledger_calls(counters), "seconds": round(time.monotonic() - started, 2),
                                "by_endpoint": {r: n for r, n in sorted(counters["rest"].items())
                                                if any(p in r for p in LEDGER_ROUTES)}}
            deposits = conn.execute("SELECT count(*) FROM lth_pvr.v_deposits").fetchone()[0]
    finally:
        tear_down(cluster, url, sim)
    per_hour = (rounds["round"]["calls"] * 60 / sync_minutes
                + (rounds["round_with_rescan"]["calls"] - rounds["round"]["calls"]) / rescan_hours)
    return {"calls_per_hour": round(per_hour, 1), "rounds": rounds, "deposits_recorded": deposits,
            "deposits_made": 2 * max(1, subaccounts // 10), "ledger_sync_minutes": sync_minutes,
            "ledger_rescan_hours": rescan_hours}


def run_ledger_rest(cluster, workdir: Path, quick: bool) -> Figure:
    sizes = (10, 50) if quick else (100, 1000)
    results = {n: {"across": measure(cluster, n, True), "per_account": measure(cluster, n, False)} for n in sizes}
    fig = Figure("ledger_rest", {"subaccounts": {str(n): r for n, r in results.items()}})
    small, large = (results[n]["across"]["calls_per_hour"] for n in sizes)
    fig.data.update(across_growth=round(large / small, 2) if small else None, across_calls_per_hour=large,
                    per_account_calls_per_hour=results[sizes[1]]["per_account"]["calls_per_hour"])
    for n, r in results.items():
        a, p = r["across"]["calls_per_hour"], r["per_account"]["calls_per_hour"]
        ok = all(side["deposits_recorded"] == side["deposits_made"] for side in r.values())
        fig.rows.append((f"9 ledger REST calls/hour, {n:,} subaccounts without sockets", f"{a:g}", f"{p:g}",
                         f"{a / p:.3f}", "O(1) in subaccounts" + ("" if ok else ", DEPOSITS MISSING")))
    fig.notes.append(f"figure 9: calls per sync round of every account × 60 / ledger_sync_minutes + the re-scan's "
                     f"extra calls / ledger_rescan_hours (counted by the simulator, not waited for); floor column = "
                     f"per-subaccount reads of the same accounts; across {sizes[0]} → {sizes[1]} subaccounts: "
                     f"× {fig.data['across_growth']} (the window's pages grow with the transactions only)")
    return fig
