"""Figure 8: the limit → market fallback (issue 16), end to end, timed by the simulator.

One run, one worker, the simulator in manual mode (the price moves only when the bench moves it),
stamping what it sends and what it receives (stamp_frames). Measured, each against its floor in the
same run, all simulator-side (send and arrival stamped by the simulator's own clock):

* price trigger: rounds of N limit BUYs with fallback_price_move resting below the market; the ask
  jumps past their threshold: the MARKET_SUMMARY_UPDATE frame sent → each DELETE received (p50/p99);
* replacement: each order's `Cancelled` ORDER_STATUS_UPDATE sent → its market POST received;
* time trigger: orders with a short fallback_after: due (VALR's accept time + fallback_after) → the
  DELETE received;
* REST calls per fallback (the simulator's own record of the worker's subaccounts: the DELETE and the
  market POST, nothing else) and marketsummary calls while the trade socket is up (0);
* comparison: the same triggers under the original design's 10-second polling loop (poller.py; 2-second
  cycles under --quick, to keep the smoke run short) — its mean trigger → DELETE and trigger → market
  POST delays, and its REST calls per order.

Floor (fallback_floor.py, its own process): the same path with nothing in it but the transports and
one committed one-row SQL write per decision — frame read → write → DELETE; Cancelled frame read →
write → market POST; a timer at the due time → write → DELETE. Its rounds alternate with the worker's
on another pair and subaccount, so they never share a frame.

Anchor orders (one per subaccount, a price trigger that cannot fire) keep the sessions, leases and the
trade subscription up across rounds, as in production with orders open: nothing is reconnected
between rounds, so nothing but the fallback is counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from worker.lab.bench.env import (
    API_KEY, API_SECRET, BenchWorker, Figure, insert_accounts, start_simulator, summary_ms, tear_down, wait_for,
)
from worker.lab.bench.poller import Poller
from worker.valr import Credentials, ValrClient


@dataclass(frozen=True)
class Market:
    pair: str
    qty: str
    bid: int       # where each round starts
    ask: int
    limit: int     # the BUYs rest here, below the ask
    jump_bid: int  # the adverse move: the ask past limit × (1 + MOVE)
    jump_ask: int


MOVE = Decimal("0.02")
OURS = Market("BTCZAR", "0.0001", 999_000, 1_000_000, 995_000, 1_019_000, 1_020_000)   # threshold 1,014,900
FLOORS = Market("ETHZAR", "0.001", 39_960, 40_000, 39_800, 40_760, 40_800)             # threshold 40,596
AGE_AFTER_S = 2.0
AGE_GAP_S = 0.25          # time-trigger orders are inserted this far apart: each falls due on its own
QUIET_CHECKS, QUIET_GAP_S = 3, 0.01  # a round starts once the database has been idle this long (wait_quiet)
POLL_S = 10.0             # the original design's polling interval
QUICK_POLL_S = 2.0        # --quick: the same loop, shorter cycles (its figures are indicative only)
FLOOR_SUBACCOUNT, POLLER_SUBACCOUNT = "7899998", "7899999"
PLACEMENT = "POST /v1/orders/limit"   # both designs place the originals the same way: not counted
DELETE, MARKET_POST = "DELETE /v1/orders/order", "POST /v1/orders/market"
SUMMARY = "GET /v1/public/{pair}/marketsummary"
SHORT = {DELETE: "DELETE", MARKET_POST: "market POST", SUMMARY: "marketsummary"}


# -- the floor's process ------------------------------------------------------------------------------
class FloorProcess:
    def __init__(self, url: str, sim_url: str, workdir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VALR_")}
        env.update(VALR_API_KEY=API_KEY, VALR_API_SECRET=API_SECRET, PYTHONUNBUFFERED="1")
        self.log = open(workdir / "fallback_floor.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker.lab.bench.fallback_floor", url, sim_url, FLOOR_SUBACCOUNT, FLOORS.pair],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        self.answer()  # {"ready": true}

    def ask(self, command: dict) -> dict:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self.answer()

    def answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:  # its own log's last lines, where it said why (the workdir is gone after the run)
            self.proc.wait(10)
            tail = Path(self.log.name).read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(f"bench: the fallback floor process ended (exit {self.proc.returncode}, "
                               f"{self.log.name}):\n" + "\n".join(tail))
        return json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"stop": true}\n')
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- SQL a user would type ------------------------------------------------------------------------------
def insert_fallback_order(conn: psycopg.Connection, account_id: uuid.UUID, limit: int, *,
                          after: float | None = None, move: Decimal | None = None) -> uuid.UUID:
    return conn.execute(
        """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty,
                                                fallback_after, fallback_price_move)
           VALUES (%s, gen_random_uuid(), %s, 'BUY', %s, %s, %s, %s) RETURNING exchange_order_id""",
        (account_id, OURS.pair, limit, OURS.qty, None if after is None else timedelta(seconds=after), move)
    ).fetchone()[0]


def wait_watched(conn: psycopg.Connection, ids: list[uuid.UUID], timeout: float = 60) -> None:
    wait_for(lambda: conn.execute(
        """SELECT count(*) FROM lth_pvr.exchange_orders WHERE exchange_order_id = ANY(%s)
              AND status = 'submitted' AND ws_monitored_at IS NOT NULL""", (ids,)).fetchone()[0] == len(ids),
        timeout, "the fallback orders placed and watched", interval=0.02)


def wait_replaced(conn: psycopg.Connection, ids: list[uuid.UUID], timeout: float = 60) -> None:
    """Every one cancelled and its market replacement filled (VALR's word, recorded)."""
    wait_for(lambda: conn.execute(
        """SELECT count(*) FROM lth_pvr.exchange_orders r
            WHERE r.replaces_order_id = ANY(%s) AND r.status = 'filled'""", (ids,)).fetchone()[0] == len(ids),
        timeout, "the fallbacks replaced and filled", interval=0.05)


def our_orders(conn: psycopg.Connection, ids: list[uuid.UUID]) -> list[dict]:
    rows = conn.execute(
        """SELECT o.ext_order_id, o.customer_order_id::text, extract(epoch FROM o.fallback_after)::float8,
                  r.customer_order_id::text
             FROM lth_pvr.exchange_orders o
             LEFT JOIN lth_pvr.exchange_orders r ON r.replaces_order_id = o.exchange_order_id
            WHERE o.exchange_order_id = ANY(%s)""", (ids,)).fetchall()
    return [{"order_id": r[0], "customer_order_id": r[1], "after_s": r[2], "replacement": r[3]} for r in rows]


# -- the simulator's record ------------------------------------------------------------------------------
class Record:
    """What the simulator stamped: summaries sent, account frames sent, requests received."""

    def __init__(self, sim) -> None:
        self.summaries = sim.trade_frames()
        self.requests = sim.requests()
        self.cancelled = {f["orderId"]: f["sent_at"] for f in reversed(sim.frames())
                          if f["type"] == "ORDER_STATUS_UPDATE" and f.get("status") == "Cancelled"}
        self.accepted = {o["orderId"]: _epoch(o["createdAt"]) for o in sim.truth()["orders"]}
        self.accepted_by_customer = {o["customerOrderId"]: _epoch(o["createdAt"])
                                     for o in sim.truth()["orders"] if o.get("customerOrderId")}
        self._first: dict[tuple[str, str, str], float] = {}
        for r in reversed(self.requests):
            for key in ("orderId", "customerOrderId"):
                if r.get(key):
                    self._first[(r["route"], key, r[key])] = r["received_at"]

    def jump_sent(self, market: Market, after: float) -> float:
        """When the jump's MARKET_SUMMARY_UPDATE left (the first one after `after` at the jump's ask)."""
        return next(f["sent_at"] for f in self.summaries
                    if f["pair"] == market.pair and f["sent_at"] >= after and Decimal(f["ask"]) == market.jump_ask)

    def received(self, route: str, key: str, value: str) -> float:
        return self._first[(route, key, value)]

    def calls(self, since: float, until: float, subaccounts: set[str] | None) -> dict[str, int]:
        """Requests received in the window, by route: of these subaccounts (public ones too: no header)."""
        counts: dict[str, int] = {}
        for r in self.requests:
            if since <= r["received_at"] <= until and (subaccounts is None or r["subaccountId"] in subaccounts
                                                       or r["route"].startswith("GET /v1/public/")):
                counts[r["route"]] = counts.get(r["route"], 0) + 1
        return dict(sorted(counts.items()))


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def set_market(sim, market: Market, jumped: bool = False) -> float:
    """Move the market; returns the wall time just before (frames of the move are sent after it)."""
    before = time.time()
    if jumped:
        sim.market(market.pair, bid=market.jump_bid, ask=market.jump_ask)
    else:
        sim.market(market.pair, bid=market.bid, ask=market.ask)
    return before


# -- the worker's rounds and the floor's ------------------------------------------------------------------
def worker_price_round(conn, sim, accounts, n: int) -> tuple[list[uuid.UUID], float]:
    set_market(sim, OURS)
    ids = [insert_fallback_order(conn, accounts[i % len(accounts)][0], OURS.limit, move=MOVE) for i in range(n)]
    wait_watched(conn, ids)
    jumped = set_market(sim, OURS, jumped=True)
    wait_replaced(conn, ids)
    return ids, jumped


def wait_quiet(conn: psycopg.Connection, timeout: float = 10.0) -> None:
    """Until no other connection to the figure's database runs a statement, QUIET_CHECKS checks in a
    row: what one side's round set off (the worker's follow-ups and bookkeeping, which may wait for its
    fallbacks) is done before the other side's round is timed, so neither is timed beside it."""
    quiet = 0

    def idle_long_enough() -> bool:
        nonlocal quiet
        busy = conn.execute("""SELECT count(*) FROM pg_stat_activity
                                WHERE datname = current_database() AND state = 'active'
                                  AND pid <> pg_backend_pid()""").fetchone()[0]
        quiet = 0 if busy else quiet + 1
        return quiet >= QUIET_CHECKS

    wait_for(idle_long_enough, timeout, "the figure's database idle between rounds", interval=QUIET_GAP_S)


def worker_age_orders(conn, accounts, n: int) -> list[uuid.UUID]:
    ids = []
    for i in range(n):
        ids.append(insert_fallback_order(conn, accounts[i % len(accounts)][0], OURS.limit, after=AGE_AFTER_S))
        time.sleep(AGE_GAP_S)
    wait_replaced(conn, ids)
    return ids


def floor_price_round(sim, floor: FloorProcess, n: int) -> tuple[list[str], float]:
    set_market(sim, FLOORS)
    orders = floor.ask({"price": n, "limit": str(FLOORS.limit), "qty": FLOORS.qty,
                        "ask_at_least": str(FLOORS.limit * (1 + MOVE))})["orders"]
    jumped = set_market(sim, FLOORS, jumped=True)
    floor.answer()  # {"done": true}: every market POST sent
    return orders, jumped


def floor_age_orders(floor: FloorProcess, n: int) -> list[str]:
    orders = floor.ask({"age": n, "limit": str(FLOORS.limit), "qty": FLOORS.qty, "after": AGE_AFTER_S,
                        "gap": AGE_GAP_S})["orders"]
    floor.answer()
    return orders


def price_latencies(record: Record, rounds: list[tuple[list[dict], float]], market: Market) -> list[float]:
    return [record.received(DELETE, "orderId", o["order_id"]) - record.jump_sent(market, jumped)
            for orders, jumped in rounds for o in orders]


def replace_latencies(record: Record, orders: list[dict]) -> list[float]:
    return [record.received(MARKET_POST, "customerOrderId", o["replacement"]) - record.cancelled[o["order_id"]]
            for o in orders]


def age_latencies(record: Record, orders: list[dict]) -> list[float]:
    return [record.received(DELETE, "orderId", o["order_id"]) - (record.accepted[o["order_id"]] + o["after_s"])
            for o in orders]


def floor_orders(record: Record, ids: list[str], after_s: float | None = None) -> list[dict]:
    """The floor's orders in our_orders' shape: its replacement is the market POST of its subaccount that
    followed the order's Cancelled frame first (one each, in order)."""
    posts = sorted(r["received_at"] for r in record.requests
                   if r["route"] == MARKET_POST and r["subaccountId"] == FLOOR_SUBACCOUNT)
    out = []
    for order_id in sorted(ids, key=lambda i: record.cancelled[i]):
        sent = record.cancelled[order_id]
        post = next(p for p in posts if p >= sent)
        posts.remove(post)
        out.append({"order_id": order_id, "after_s": after_s, "post_at": post, "cancelled_at": sent})
    return out


# -- the figure ---------------------------------------------------------------------------------------------
def run_fallback(cluster, workdir: Path, quick: bool) -> Figure:
    rounds, per_round, age_orders = (2, 3, 3) if quick else (10, 5, 30)
    url = cluster.database("fallback")
    sim = start_simulator(stamp_frames=True)
    worker = floor = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            set_market(sim, OURS)
            set_market(sim, FLOORS)
            accounts = insert_accounts(conn, 3, 7_800_000)
            # The figure times the trigger's machinery from the frame: the confirmation's own wait (an
            # adverse move must hold fallback_price_confirm_ms, 500 ms by default) is a choice, not a
            # cost, so these accounts fire on the first frame. And "no marketsummary call while the
            # socket is up" is counted with the quiet-pair REST reads (one per pair per
            # price_rest_poll_seconds without a frame, whatever the socket's state) out of the way.
            conn.execute("UPDATE lth_pvr.exchange_accounts SET fallback_price_confirm_ms = 0 "
                         "WHERE exchange_account_id = ANY(%s)", ([a for a, _ in accounts],))
            conn.execute("UPDATE lth_pvr.settings SET value = 3600 WHERE name = 'price_rest_poll_seconds'")
            for account_id, _ in accounts:  # anchors: a price trigger that cannot fire (ask ≥ 1,800,000)
                insert_fallback_order(conn, account_id, 900_000, move=Decimal(1))
            worker = BenchWorker(url, sim.base_url, workdir, "fallback")
            floor = FloorProcess(url, sim.base_url, workdir)
            wait_for(lambda: [OURS.pair] in sim.counters()["trade_subscriptions"], 60, "the worker's prices watched")
            worker_price_round(conn, sim, accounts, 1)   # warm-up: plans cached, connections in use
            floor_price_round(sim, floor, 1)
            since = time.time()
            ours, floors = [], []
            for _ in range(rounds):  # alternating, so noise hits both; each round on a quiet database
                wait_quiet(conn)
                ours.append(worker_price_round(conn, sim, accounts, per_round))
                wait_quiet(conn)
                floors.append(floor_price_round(sim, floor, per_round))
            wait_quiet(conn)
            age_ids = worker_age_orders(conn, accounts, age_orders)
            wait_quiet(conn)
            floor_age = floor_age_orders(floor, age_orders)
            time.sleep(0.5)  # anything the fallbacks still cause would arrive now
            until = time.time()
            record = Record(sim)
            ours_rows = [(our_orders(conn, ids), jumped) for ids, jumped in ours]
            age_rows = our_orders(conn, age_ids)
            fallbacks = conn.execute("SELECT count(*) FROM lth_pvr.exchange_orders WHERE replaces_order_id IS NOT NULL"
                                     ).fetchone()[0]
            worker_subs = {sub for _, sub in accounts}
            trade_sockets = {f["socket"] for f in record.summaries if f["pair"] == OURS.pair}
            warm = record.calls(since, until, worker_subs)
        floor.stop()
        worker.stop()
        polling = compare_polling(sim, rounds=1 if quick else 3, per_round=per_round,
                                  age_orders=2 if quick else 10, seed=8, poll_s=QUICK_POLL_S if quick else POLL_S)
    finally:
        tear_down(cluster, url, sim, floor, worker)
    measured_fallbacks = sum(len(rows) for rows, _ in ours_rows) + len(age_rows)
    floor_price = [(floor_orders(record, ids), jumped) for ids, jumped in floors]
    floor_age_rows = floor_orders(record, floor_age, AGE_AFTER_S)
    data = {
        "price_orders": sum(len(r) for r, _ in ours_rows), "rounds": rounds, "age_orders": len(age_rows),
        "price_to_cancel": summary_ms(price_latencies(record, ours_rows, OURS)),
        "floor_price_to_cancel": summary_ms(price_latencies(record, floor_price, FLOORS)),
        "cancelled_to_market": summary_ms(replace_latencies(record, [o for rows, _ in ours_rows for o in rows]
                                                            + age_rows)),
        "floor_cancelled_to_market": summary_ms([o["post_at"] - o["cancelled_at"]
                                                 for rows, _ in floor_price for o in rows] +
                                                [o["post_at"] - o["cancelled_at"] for o in floor_age_rows]),
        "due_to_cancel": summary_ms(age_latencies(record, age_rows)),
        "floor_due_to_cancel": summary_ms(age_latencies(record, floor_age_rows)),
        # Sub-runs (one per price round, ours and the floor's alternating): the spread --compare allows.
        "runs": [round_summary(price_latencies(record, [r], OURS), replace_latencies(record, r[0])) for r in ours_rows],
        "floor_runs": [round_summary(price_latencies(record, [r], FLOORS), [o["post_at"] - o["cancelled_at"] for o in r[0]])
                       for r in floor_price],
        "fallbacks": fallbacks, "rest_by_route": warm,
        "trade_sockets": len(trade_sockets), "polling": polling,
    }
    fallback_calls = {route: n for route, n in warm.items() if route != PLACEMENT}
    data["calls_per_fallback"] = round(sum(fallback_calls.values()) / measured_fallbacks, 3)
    data["deletes_per_fallback"] = round(warm.get(DELETE, 0) / measured_fallbacks, 3)
    data["market_posts_per_fallback"] = round(warm.get(MARKET_POST, 0) / measured_fallbacks, 3)
    data["price_rest_calls"] = warm.get(SUMMARY, 0)
    data["measured_fallbacks"] = measured_fallbacks
    data["meets_target"] = (data["calls_per_fallback"] == 2 and data["price_rest_calls"] == 0
                            and data["trade_sockets"] == 1)
    triggered = [(o, record.jump_sent(OURS, jumped)) for rows, jumped in ours_rows for o in rows] + \
        [(o, record.accepted[o["order_id"]] + o["after_s"]) for o in age_rows]
    data["mean_trigger_to_cancel_ms"] = round(statistics.fmean(
        record.received(DELETE, "orderId", o["order_id"]) - t for o, t in triggered) * 1000, 3)
    data["mean_trigger_to_market_ms"] = round(statistics.fmean(
        record.received(MARKET_POST, "customerOrderId", o["replacement"]) - t for o, t in triggered) * 1000, 3)
    for key in ("price_to_cancel", "cancelled_to_market", "due_to_cancel"):
        data[f"{key}_p50_ms"], data[f"{key}_p99_ms"] = data[key]["p50_ms"], data[key]["p99_ms"]
        data[f"floor_{key}_p50_ms"], data[f"floor_{key}_p99_ms"] = (data[f"floor_{key}"]["p50_ms"],
                                                                    data[f"floor_{key}"]["p99_ms"])
    return fallback_figure(data)


def round_summary(to_cancel: list[float], to_market: list[float]) -> dict:
    return {"price_to_cancel": summary_ms(to_cancel), "cancelled_to_market": summary_ms(to_market)}


def fallback_figure(data: dict) -> Figure:
    fig = Figure("fallback", data)
    rows = [("price frame → DELETE", "price_to_cancel"), ("Cancelled frame → market POST", "cancelled_to_market"),
            ("age due → DELETE", "due_to_cancel")]
    for label, key in rows:
        p50, p99, f50, f99 = (data[f"{key}_p50_ms"], data[f"{key}_p99_ms"], data[f"floor_{key}_p50_ms"],
                              data[f"floor_{key}_p99_ms"])
        fig.rows.append((f"8 {label} p50/p99", f"{p50:.1f} / {p99:.1f} ms", f"{f50:.1f} / {f99:.1f} ms",
                         f"{_ratio(p50, f50)}× / {_ratio(p99, f99)}×", "reported"))
    by_route = " + ".join(f"{n} {SHORT.get(r, r)}" for r, n in data["rest_by_route"].items() if r != PLACEMENT)
    fig.rows.append(("8 REST calls per fallback", f"{data['calls_per_fallback']:g} ({by_route or 'none'})", "2", "",
                     "2 " + ("met" if data["calls_per_fallback"] == 2 else "MISSED")))
    fig.rows.append(("8 marketsummary calls, trade socket up", str(data["price_rest_calls"]), "0", "",
                     "0 " + ("met" if data["price_rest_calls"] == 0 and data["trade_sockets"] == 1 else "MISSED")))
    poll = data["polling"]
    fig.rows.append((f"8 trigger → DELETE mean, ours vs {poll['poll_s']:g} s poll",
                     f"{data['mean_trigger_to_cancel_ms']:.1f} ms",
                     f"{poll['mean_trigger_to_cancel_ms']:.0f} ms",
                     f"{_ratio(poll['mean_trigger_to_cancel_ms'], data['mean_trigger_to_cancel_ms'])}× sooner",
                     "reported"))
    fig.rows.append(("8 trigger → market POST mean, ours vs poll", f"{data['mean_trigger_to_market_ms']:.1f} ms",
                     f"{poll['mean_trigger_to_market_ms']:.0f} ms",
                     f"{_ratio(poll['mean_trigger_to_market_ms'], data['mean_trigger_to_market_ms'])}× sooner",
                     "reported"))
    fig.rows.append((f"8 REST calls per order, ours vs {poll['poll_s']:g} s poll", f"{data['calls_per_fallback']:g}",
                     f"{poll['calls_per_order']:g}", "", "reported"))
    fig.notes.append(
        f"figure 8: {data['rounds']} price jumps × {data['price_orders'] // max(data['rounds'], 1)} BUYs (move "
        f"{MOVE * 100:g} %) and {data['age_orders']} age fallbacks ({AGE_AFTER_S:g} s), one worker; times stamped "
        f"by the simulator (frame sent → request received; age: VALR's accept + fallback_after → DELETE received); "
        f"floor = a bare client on the same transports, one committed one-row write per decision, alternating "
        f"rounds on another pair, each side's round started once the database is idle (no statement running, "
        f"{QUIET_CHECKS} checks {QUIET_GAP_S * 1000:g} ms apart)")
    fig.notes.append(f"  {poll['poll_s']:g} s polling loop: {poll['orders']} orders, {poll['cycles']} cycles; "
                     "REST calls "
                     + ", ".join(f"{r} {n}" for r, n in poll["rest_by_route"].items()))
    return fig


def _ratio(value: float, floor: float) -> float:
    return round(value / floor, 1) if floor else float("nan")


# -- the 10-second poller -------------------------------------------------------------------------------------
def compare_polling(sim, rounds: int, per_round: int, age_orders: int, seed: int, poll_s: float = POLL_S) -> dict:
    """The same triggers under the polling loop, on its own subaccount, the worker stopped: `rounds` price
    jumps (each at a random moment of its own poll cycle) of `per_round` BUYs each, and `age_orders`
    age fallbacks falling due at random moments. Trigger → DELETE received and → market POST received,
    and every REST call it made but the placements, per original order."""
    set_market(sim, OURS)
    started = time.time()
    poller, cycles, triggers = asyncio.run(_poll(sim, rounds, per_round, age_orders, random.Random(seed), poll_s))
    record = Record(sim)
    calls = {route: n for route, n in record.calls(started, time.time(), {POLLER_SUBACCOUNT}).items()
             if route != PLACEMENT}
    markets = {o.replaces: o.customer_order_id for o in poller.orders if o.market}
    to_cancel, to_market = [], []
    for order, jumped in triggers:
        trigger = jumped if jumped is not None else record.accepted_by_customer[order.customer_order_id] + order.after_s
        to_cancel.append(record.received(DELETE, "customerOrderId", order.customer_order_id) - trigger)
        to_market.append(record.received(MARKET_POST, "customerOrderId", markets[order.customer_order_id]) - trigger)
    set_market(sim, OURS)
    return {"poll_s": poll_s, "orders": len(triggers), "cycles": cycles, "rest_by_route": calls,
            "calls_per_order": round(sum(calls.values()) / len(triggers), 3),
            "mean_trigger_to_cancel_ms": round(statistics.fmean(to_cancel) * 1000, 3),
            "mean_trigger_to_market_ms": round(statistics.fmean(to_market) * 1000, 3),
            "trigger_to_cancel": summary_ms(to_cancel), "trigger_to_market": summary_ms(to_market)}


async def _poll(sim, rounds: int, per_round: int, age_orders: int, rng: random.Random, poll_s: float):
    """Place the orders, start the loop, move the market at random moments; until every order is finished.
    Returns (the poller, its cycles, [(limit order, when its price jumped — None for an age order)])."""
    credentials = Credentials(api_key=API_KEY, api_secret=API_SECRET)
    async with ValrClient(sim.base_url, credentials, requests_per_minute=1_000_000) as client:
        poller = Poller(client, POLLER_SUBACCOUNT, OURS.pair, poll_s)
        qty, limit = Decimal(OURS.qty), Decimal(OURS.limit)
        groups = [[await poller.place(qty, limit, threshold=limit * (1 + MOVE * (j + 1))) for _ in range(per_round)]
                  for j in range(rounds)]  # group j fires at jump j: its ask lies between thresholds j and j + 1
        aged = [await poller.place(qty, limit, after_s=rng.uniform(1.0, poll_s * rounds - 1.0))
                for _ in range(age_orders)]
        loop = asyncio.create_task(poller.run())
        start, triggers = time.monotonic(), [(o, None) for o in aged]
        for j, group in enumerate(groups):
            await asyncio.sleep(max(0.0, start + j * poll_s + rng.uniform(0.5, poll_s - 0.5) - time.monotonic()))
            ask = int(limit * (1 + MOVE * (j + 1) + MOVE / 2))
            await asyncio.to_thread(sim.market, OURS.pair, bid=ask - 1000, ask=ask)
            jumped = time.time()  # the price has changed at "VALR" by now
            triggers += [(o, jumped) for o in group]
        cycles = await loop
    return poller, cycles, triggers
