"""Figure 5: the safety net's selection (lth_pvr.safety_net_due, what the cron job's safety_net_tick
runs) with a fixed 1,000 open orders among 10k, 100k and 1M historical ones: execution time (median of
EXPLAIN ANALYZE runs) and whether the plan uses the spec's partial index
idx_exchange_orders_requires_polling (at the largest history; with a small one the planner may pick the
other open-orders-only partial index). Flat, not linear: the index holds only submitted orders.

History is loaded with INSERT … SELECT generate_series, triggers skipped (session_replication_role =
replica: the rows are already terminal, which the insert rules rightly refuse from users), then ANALYZE.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import psycopg

from worker.lab.bench.env import Figure

INDEX = "idx_exchange_orders_requires_polling"
# The other partial index over open orders only (status IN pending/placing/submitted): with a small
# history the planner may prefer it; the scan is then just as bounded by the open orders.
OPEN_ONLY_INDEXES = (INDEX, "exchange_orders_account_open_idx")
OPEN_ORDERS = 1000

LOAD = """
INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty, status, ext_order_id,
                                     created_at, submitted_at, updated_at, filled_qty, requires_polling,
                                     ws_monitored_at, last_polled_at, poll_count)
SELECT %(account)s, gen_random_uuid(), 'BTCZAR', 'BUY', 1150000, 0.0001, %(status)s::text, %(prefix)s::text || g,
       now() - make_interval(mins => g), now() - make_interval(mins => g), now() - make_interval(mins => g),
       CASE WHEN %(status)s::text = 'filled' THEN 0.0001 ELSE 0 END, %(status)s::text = 'submitted',
       now() - make_interval(mins => g), CASE WHEN g %% 3 = 0 THEN now() - interval '1 hour' END, g %% 3
  FROM generate_series(%(first)s::int, %(last)s::int) g
"""


def plan_uses(node: dict, index: str) -> bool:
    if node.get("Index Name") == index:
        return True
    return any(plan_uses(child, index) for child in node.get("Plans", []))


def plan_nodes(node: dict) -> list[str]:
    name = node["Node Type"] + (f" using {node['Index Name']}" if node.get("Index Name") else "")
    return [name] + [n for child in node.get("Plans", []) for n in plan_nodes(child)]


def measure(conn: psycopg.Connection, runs: int) -> dict:
    times, plan = [], None
    for _ in range(runs):
        result = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM lth_pvr.safety_net_due(now())").fetchone()[0]
        doc = result[0] if isinstance(result, list) else json.loads(result)[0]
        times.append(doc["Execution Time"] + doc.get("Planning Time", 0))
        plan = doc["Plan"]
    return {"ms": round(statistics.median(times), 3), "uses_index": plan_uses(plan, INDEX),
            "open_only": any(plan_uses(plan, name) for name in OPEN_ONLY_INDEXES),
            "plan": plan_nodes(plan), "rows": plan.get("Actual Rows"),
            "shared_buffers_hit": plan.get("Shared Hit Blocks"), "shared_buffers_read": plan.get("Shared Read Blocks")}


def load(conn: psycopg.Connection, account, status: str, prefix: str, first: int, last: int) -> None:
    conn.execute("SET session_replication_role = replica")
    conn.execute(LOAD, {"account": account, "status": status, "prefix": prefix, "first": first, "last": last})
    conn.execute("SET session_replication_role = DEFAULT")


def run_query_cost(cluster, workdir: Path, quick: bool) -> Figure:
    # --quick loads a tenth of each size (the 1M load alone takes ~20 s); the keys keep their names and
    # "history_sizes" says what was measured.
    sizes = [1_000, 10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    runs = 5 if quick else 15
    url = cluster.database("query")
    results: dict[int, dict] = {}
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            # Loading is not what is measured: let the load's commits skip the WAL flush wait.
            conn.execute("SET synchronous_commit = off")
            account = conn.execute("INSERT INTO lth_pvr.exchange_accounts (subaccount_id) VALUES ('7500000') "
                                   "RETURNING exchange_account_id").fetchone()[0]
            load(conn, account, "submitted", "open-", 1, OPEN_ORDERS)
            loaded = 0
            for size in sizes:
                load(conn, account, "filled", "hist-", loaded + 1, size)
                loaded = size
                conn.execute("VACUUM (ANALYZE) lth_pvr.exchange_orders")
                conn.execute("RESET synchronous_commit")
                results[size] = measure(conn, runs)
                conn.execute("SET synchronous_commit = off")
    finally:
        cluster.drop(url)
    small, mid, large = (results[s] for s in sizes)
    data = {"open_orders": OPEN_ORDERS, "history_sizes": sizes, "ms_10k": small["ms"], "ms_100k": mid["ms"],
            "ms_1m": large["ms"], "uses_index": large["uses_index"],
            "open_orders_index_at_every_size": all(r["open_only"] for r in results.values()),
            "uses_index_by_size": {str(s): r["uses_index"] for s, r in results.items()},
            "plans": {str(s): r["plan"] for s, r in results.items()},
            "rows_selected": large["rows"], "plan_1m": large["plan"],
            "growth_10k_to_1m": round(large["ms"] / small["ms"], 2), "runs": runs}
    data["meets_target"] = (data["uses_index"] and data["open_orders_index_at_every_size"]
                            and data["growth_10k_to_1m"] < 10)  # flat: 100× the rows, not 100× the time
    fig = Figure("safety_net_query", data)
    label = " / ".join(f"{s // 1000:,}k" if s < 1_000_000 else f"{s // 1_000_000}M" for s in sizes)
    fig.rows = [(f"5 safety-net selection, {label} history",
                 f"{data['ms_10k']:.2f} / {data['ms_100k']:.2f} / {data['ms_1m']:.2f} ms", "",
                 f"{data['growth_10k_to_1m']}× for 100× rows",
                 ("partial index used, flat" if data["meets_target"] else "NOT FLAT / index unused"))]
    other = [str(s) for s, r in results.items() if not r["uses_index"]]
    if other:
        fig.notes.append(f"figure 5: at {', '.join(other)} history rows the planner chose "
                         + ", ".join(sorted({p for s in other for p in results[int(s)]["plan"]})))
    fig.notes.append(f"figure 5: {OPEN_ORDERS:,} open orders; plan at 1M: {' → '.join(data['plan_1m'])}; "
                     f"median of {runs} EXPLAIN ANALYZE runs (planning + execution)")
    return fig
