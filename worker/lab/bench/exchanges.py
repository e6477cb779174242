"""Figure 12: figures 1 and 8 on each exchange reached through ccxt (Binance, Kraken, Coinbase), beside
the same commit floor, in one run: one worker, one double per exchange (worker/lab/doubles, unmodified
ccxt driving it over real sockets), one account on each.

* fill event → committed: one large resting BUY per account, placed by the worker through the double;
  fills made in the double at a steady pace (figure 1's steady_fills). Each fill is stamped when the
  double SENDS the socket message that carries it (the double's `stamp` hook): Binance's executionReport
  (x=TRADE), Kraken's executions `trade` event, Coinbase's `user` order update whose number_of_fills
  reaches it. Committed: a bench-only AFTER INSERT trigger on order_fills NOTIFYs `bench_fill` with the
  trade id, observed by the LISTENing observer — delivered at the commit of the transaction that recorded
  the fill (record_exchange_events for a socket read; record_fills for Coinbase, whose fills are read
  over REST once its order event says the order traded): the commit that sends lth_pvr_recorded when it is on.
  Floor: figure 1's (a bare one-row INSERT + NOTIFY, same listener, same rate, in the gaps between fills).
* the fallback: limit BUYs under the market with a short fallback_after, a quarter filled first, one at a
  time: due (SQL's own due time: submitted_at + fallback_after) → the cancel request received by the
  double; the exchange's cancelled event sent → the replacement market order's POST received (the
  double's request log). Floor (exchanges_floor.py, its own process, alternating with ours): figure 8's
  idea on ccxt — a bare client on the worker's own adapter, one committed one-row write per decision,
  on its own account of the same double.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg

from worker.lab.bench.env import BenchWorker, Figure, Observer, median_of, start_simulator, summary_ms, wait_for
from worker.lab.bench.fallback import FloorProcess
from worker.lab.bench.latency import create_floor_table, floor_event, steady_fills
from worker.lab.demo_exchanges import Venue, secret_for, start_venues, worker_env
from worker.lab.doubles.server import plain

EXCHANGES = ("binance", "kraken", "coinbase")
FILL_QTY = "0.00001"
FALLBACK_QTY = Decimal("0.002")
AFTER_S = 1.0


@dataclass(frozen=True)
class Protocol:
    cancel: tuple[str, str]   # the request that cancels an order (method, path)
    place: tuple[str, str]    # the request that places one
    quirk: str                # what the ccxt/worker path does differently on this exchange


PROTOCOLS = {
    "binance": Protocol(("DELETE", "/api/v3/order"), ("POST", "/api/v3/order"),
                        "fills from executionReport x=TRADE (watch_my_trades and watch_orders)"),
    "kraken": Protocol(("POST", "/0/private/CancelOrder"), ("POST", "/0/private/AddOrder"),
                       "fills from the executions channel's trade events (watch_my_trades); an order's "
                       "completion is a separate exec_type 'filled' event"),
    "coinbase": Protocol(("POST", "/api/v3/brokerage/orders/batch_cancel"), ("POST", "/api/v3/brokerage/orders"),
                         "no watch_my_trades: a fill is seen as the user channel's order update, its trade "
                         "read over REST (fetch_my_trades) before it is committed"),
}


# -- what a double sent ------------------------------------------------------------------------------------
class Sent:
    """The double's `stamp` hook: every socket message with its send time, read after the run."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str]] = []

    def __call__(self, at: float, text: str) -> None:
        self.log.append((at, text))

    def first_seen(self) -> tuple[dict[tuple, float], dict[str, float]]:
        """(fill key → when a message first carried it, order id → when its cancelled event was sent)."""
        fills: dict[tuple, float] = {}
        cancelled: dict[str, float] = {}
        for at, text in list(self.log):
            keys, ended = message_words(text)
            for key in keys:
                fills.setdefault(key, at)
            for order_id in ended:
                cancelled.setdefault(order_id, at)
        return fills, cancelled


def message_words(text: str) -> tuple[list[tuple], list[str]]:
    """One socket message's fill keys and the ids of the orders it says were cancelled, in each exchange's
    documented shape: Kraken's executions, Coinbase's user channel, Binance's executionReport."""
    try:
        message = json.loads(text)
    except ValueError:
        return [], []
    if not isinstance(message, dict):
        return [], []
    reader = {"executions": kraken_words, "user": coinbase_words}.get(message.get("channel"), binance_words)
    return reader(message)


def kraken_words(message: dict) -> tuple[list[tuple], list[str]]:
    """Kraken's executions channel: a `trade` event names the trade (exec_id); canceled/expired, the order."""
    items = message.get("data") or []
    return ([("trade", str(i.get("exec_id"))) for i in items if i.get("exec_type") == "trade"],
            [str(i.get("order_id")) for i in items if i.get("exec_type") in ("canceled", "expired")])


def coinbase_words(message: dict) -> tuple[list[tuple], list[str]]:
    """Coinbase's user channel: each order update says how many fills the order has (number_of_fills)."""
    orders = [o for e in message.get("events") or [] if e.get("type") == "update" for o in e.get("orders") or []]
    return ([("nth", str(o.get("order_id")), int(o.get("number_of_fills") or 0)) for o in orders],
            [str(o.get("order_id")) for o in orders if o.get("status") in ("CANCELLED", "EXPIRED")])


def binance_words(message: dict) -> tuple[list[tuple], list[str]]:
    """Binance's executionReport (bare, or wrapped as the WebSocket API's {"event": …}): a TRADE names the
    order's cumulative quantity (z); CANCELED/EXPIRED, the order (i)."""
    report = next((m for m in (message, message.get("event"), message.get("data"))
                   if isinstance(m, dict) and m.get("e") == "executionReport"), {})
    if report.get("x") == "TRADE":
        return [("cum", str(report.get("i")), plain(Decimal(str(report.get("z")))))], []
    return [], [str(report.get("i"))] if report.get("X") in ("CANCELED", "EXPIRED") else []


def trade_keys(venue: Venue) -> dict[str, list[tuple]]:
    """Each of the double's trades by id: the keys a message carrying it may name (its id; its order's
    fill count with it; its order's cumulative quantity with it)."""
    ex = venue.double.server.exchange

    def read() -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {}
        count: dict[str, int] = {}
        total: dict[str, Decimal] = {}
        for trade in ex.trades:
            count[trade.order_id] = count.get(trade.order_id, 0) + 1
            total[trade.order_id] = total.get(trade.order_id, Decimal(0)) + trade.amount
            out[trade.id] = [("trade", trade.id), ("nth", trade.order_id, count[trade.order_id]),
                             ("cum", trade.order_id, plain(total[trade.order_id]))]
        return out
    return venue.double.call(read)


def fill_latencies(venue: Venue, sent: dict[tuple, float], committed: dict[str, float]) -> tuple[list[float], int]:
    """Each committed fill's send → commit time; and how many committed fills no sent message carried."""
    latencies, unmatched = [], 0
    for trade_id, keys in trade_keys(venue).items():
        if trade_id not in committed:
            continue
        at = min((sent[k] for k in keys if k in sent), default=None)
        if at is None:
            unmatched += 1
        else:
            latencies.append(committed[trade_id] - at)
    return latencies, unmatched


# -- SQL a user would type, and the bench's own ------------------------------------------------------------
def add_account(conn: psycopg.Connection, venue: Venue):
    return conn.execute("INSERT INTO lth_pvr.exchange_accounts (exchange, label) VALUES (%s, %s) "
                        "RETURNING exchange_account_id", (venue.name, f"bench {venue.name}")).fetchone()[0]


def add_order(conn: psycopg.Connection, account, symbol: str, price: Decimal, qty: Decimal,
              after_s: float | None = None):
    return conn.execute(
        """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty, fallback_after)
           VALUES (%s, gen_random_uuid(), %s, 'BUY', %s, %s, make_interval(secs => %s))
           RETURNING exchange_order_id""", (account, symbol, price, qty, after_s)).fetchone()[0]


def create_fill_trigger(conn: psycopg.Connection) -> None:
    """Bench-only: a NOTIFY per recorded fill, delivered when the transaction that recorded it commits."""
    conn.execute("""CREATE FUNCTION public.bench_fill_notify() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN PERFORM pg_notify('bench_fill', NEW.trade_id); RETURN NULL; END $$""")
    conn.execute("CREATE TRIGGER bench_fill_notify AFTER INSERT ON lth_pvr.order_fills "
                 "FOR EACH ROW EXECUTE FUNCTION public.bench_fill_notify()")


def order_row(conn: psycopg.Connection, order_id) -> tuple:
    return conn.execute("SELECT status, ext_order_id, ws_monitored_at IS NOT NULL, "
                        "extract(epoch FROM submitted_at + fallback_after)::float8 "
                        "FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s", (order_id,)).fetchone()


def fills_held(conn: psycopg.Connection, order_id) -> int:
    return conn.execute("SELECT count(*) FROM lth_pvr.order_fills WHERE exchange_order_id = %s",
                        (order_id,)).fetchone()[0]


# -- one exchange ------------------------------------------------------------------------------------------
class Account:
    """One exchange's account, its big resting order and what its double sent."""

    def __init__(self, conn: psycopg.Connection, venue: Venue) -> None:
        self.venue = venue
        self.sent = Sent()
        venue.double.server.stamp = self.sent
        self.id = add_account(conn, venue)
        self.symbol = venue.symbol()
        self.market = venue.double.server.exchange.markets[self.symbol]
        self.resting = add_order(conn, self.id, self.symbol, self.market.bid, Decimal(1))
        self.ext = ""

    def fill(self, ext: str, quantity: str, subaccount_id: str) -> None:
        """steady_fills' simulator face: one fill of the resting order, made in the double."""
        server = self.venue.double.server
        self.venue.double.call(lambda: server.exchange.fill(server.exchange.orders[ext], Decimal(quantity)))

    def trades(self) -> int:
        server = self.venue.double.server
        return self.venue.double.call(lambda: sum(1 for t in server.exchange.trades if t.order_id == self.ext))


def event_to_commit(conn, account: Account, observer: Observer, rate: float, seconds: float) -> tuple[dict, dict]:
    """One repetition: fills at `rate` fills/s with the floor's events between them; (ours, floor)."""
    observer.take()
    before = account.trades()
    steady_fills(account, [("", account.ext)], rate * 2, seconds, lambda _: floor_event(conn))
    all_committed(conn, account)
    made, notes = account.trades() - before, []
    wait_for(lambda: notes.extend(observer.take()) or sum(n[1] == "bench_fill" for n in notes) >= made, 30,
             f"{account.venue.name}: the observer holding every fill's commit")
    committed = {payload: arrived for arrived, channel, payload in notes if channel == "bench_fill"}
    sent, _ = account.sent.first_seen()
    latencies, unmatched = fill_latencies(account.venue, sent, committed)
    floor = [arrived - float(payload) for arrived, channel, payload in notes if channel == "bench_floor"]
    return {**summary_ms(latencies), "unmatched": unmatched}, summary_ms(floor)


def all_committed(conn: psycopg.Connection, account: Account) -> None:
    target = account.trades()
    wait_for(lambda: fills_held(conn, account.resting) >= target, 60, f"{account.venue.name}: every fill committed")


class ExchangeFloor(FloorProcess):
    """The fallback's floor (exchanges_floor.py) on its own account of the double: a second key."""

    def __init__(self, url: str, venue: Venue, symbol: str, workdir: Path) -> None:
        key = f"floor-{venue.name}-{secrets.token_hex(4)}"
        venue.double.server.keys[key] = secret_for(venue.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith(venue.name.upper() + "_")}
        env.update(Venue(venue.name, venue.double, key, venue.paced).env, PYTHONUNBUFFERED="1")  # ours' pace
        self.log = open(workdir / f"exchanges_floor_{venue.name}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker.lab.bench.exchanges_floor", url, venue.name, symbol],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        self.ready = False

    def ask(self, command: dict) -> dict:
        if not self.ready:  # started with the worker, waited for at its first command
            self.answer()   # {"ready": true}
            self.ready = True
        return super().ask(command)


def fallbacks(conn, account: Account, count: int, floor: ExchangeFloor) -> dict:
    """`count` age fallbacks of ours and `count` of the floor's, alternating, one at a time: due → cancel
    received; cancelled sent → market POST received. Ours stop at the first fallback SQL does not replace
    (its outcome is reported: a finding, not a figure)."""
    protocol = PROTOCOLS[account.venue.name]
    price = (account.market.bid * Decimal("0.95")).quantize(account.market.tick)
    ours = {"due_to_cancel": [], "cancelled_to_market": []}
    floors = {"due_to_cancel": [], "cancelled_to_market": []}
    outcome = "replaced"
    for _ in range(count):
        order_id = add_order(conn, account.id, account.symbol, price, FALLBACK_QTY, AFTER_S)
        # Partly executed first, as a fallback usually is: the rest is bought at market.
        ext = wait_for(lambda: (row := order_row(conn, order_id))[0] == "submitted" and row[1], 60,
                       f"{account.venue.name}: the fallback order placed")
        account.fill(ext, str(FALLBACK_QTY / 4), "")
        outcome = fallback_outcome(conn, order_id, account.venue.name)
        if outcome != "replaced":
            break
        # Its POST answered is enough (what is timed is its arrival); its fill is not waited for.
        wait_for(lambda: conn.execute(
            "SELECT count(*) FROM lth_pvr.exchange_orders WHERE replaces_order_id = %s AND ext_order_id IS NOT NULL",
            (order_id,)).fetchone()[0] == 1, 60, f"{account.venue.name}: the replacement placed")
        timed(account, protocol, ext, order_row(conn, order_id)[3], ours)
        placed = floor.ask({"place": str(FALLBACK_QTY), "limit": str(price), "after": AFTER_S})
        account.fill(placed["id"], str(FALLBACK_QTY / 4), "")
        floor.answer()  # {"done": id}: its market POST answered
        timed(account, protocol, placed["id"], placed["due"], floors)
    return {**{k: summary_ms(v) for k, v in ours.items()}, **{f"floor_{k}": summary_ms(v) for k, v in floors.items()},
            "outcome": outcome}


def timed(account: Account, protocol: Protocol, ext: str, due: float, into: dict[str, list[float]]) -> None:
    """One fallback's two steps, from the double's record: due → its cancel request received; its
    cancelled event sent → the market POST received (fallbacks run one at a time: the first of each)."""
    requests = account.venue.double.call(lambda: list(account.venue.double.server.requests))
    _, cancelled = account.sent.first_seen()
    into["due_to_cancel"].append(first_request(requests, protocol.cancel, due) - due)
    into["cancelled_to_market"].append(first_request(requests, protocol.place, cancelled[ext]) - cancelled[ext])


def fallback_outcome(conn: psycopg.Connection, order_id, name: str) -> str:
    """What SQL decided when the exchange's final word on the order came: fallback_outcome."""
    return wait_for(lambda: conn.execute("SELECT fallback_outcome FROM lth_pvr.exchange_orders "
                                         "WHERE exchange_order_id = %s", (order_id,)).fetchone()[0],
                    60, f"{name}: the fallback decided")


def first_request(requests: list[dict], route: tuple[str, str], since: float) -> float:
    return next(r["at"] for r in requests if (r["method"], r["path"]) == route and r["at"] >= since)


# -- the figure ----------------------------------------------------------------------------------------------
def pace(quick: bool) -> tuple[float, float, int, int]:
    """(fills/s per exchange, seconds per repetition, repetitions, fallbacks per exchange). The quick run
    (the suite's smoke) proves each path runs and is matched, once: one repetition, one fallback."""
    return (20.0, 1.0, 1, 1) if quick else (50.0, 5.0, 4, 10)


def run_exchanges(cluster, workdir: Path, quick: bool, names: tuple[str, ...] | None = None,
                  sizes: tuple[float, float, int, int] | None = None) -> Figure:
    rate, seconds, reps, n_fallbacks = sizes or pace(quick)
    names = tuple(names or EXCHANGES)
    url = cluster.database("exchanges")
    sim = start_simulator()  # the worker's VALR side: no VALR account, nothing placed there
    worker = observer = None
    floors: list[ExchangeFloor] = []
    per: dict[str, dict] = {}
    try:
        with contextlib.ExitStack() as stack, psycopg.connect(url, autocommit=True) as conn:
            # --quick (the suite's smoke): Kraken at the lab's pace, its double enforcing the counter of a
            # key that fast (demo_exchanges.LAB_LIMITS); the full bench keeps ccxt's own (3 s a private call).
            venues = start_venues(stack, names, paced=quick)
            create_floor_table(conn)
            # The fallback floors' table, before they start: one per exchange at once, they raced to create
            # it (CREATE TABLE IF NOT EXISTS is not safe against a concurrent creator).
            conn.execute("CREATE TABLE bench_exchange_floor "
                         "(id bigserial PRIMARY KEY, what text NOT NULL, at timestamptz DEFAULT now())")
            create_fill_trigger(conn)
            accounts = [Account(conn, venue) for venue in venues]
            floors = [ExchangeFloor(url, a.venue, a.symbol, workdir) for a in accounts]  # they start meanwhile
            observer = Observer(url, ["bench_fill", "bench_floor"])
            worker = BenchWorker(url, sim.base_url, workdir, "exchanges", extra_env=worker_env(venues))
            for account in accounts:
                wait_for(lambda: (row := order_row(conn, account.resting))[0] == "submitted" and row[2], 60,
                         f"{account.venue.name}: the resting order placed and watched")
                account.ext = order_row(conn, account.resting)[1]
            for account, bare in zip(accounts, floors):
                steady_fills(account, [("", account.ext)], rate * 2, 0.5)  # warm-up: plans cached, sockets warm
                all_committed(conn, account)
                runs, floor_runs = [], []
                for _ in range(reps):
                    ours, commit_floor = event_to_commit(conn, account, observer, rate, seconds)
                    runs.append(ours)
                    floor_runs.append(commit_floor)
                per[account.venue.name] = {"runs": runs, "floor_runs": floor_runs,
                                           "fallback": fallbacks(conn, account, n_fallbacks, bare)}
    finally:
        for part in (observer, worker, *floors):
            if part is not None:
                part.stop()
        sim.stop()
        cluster.drop(url)
    return exchanges_figure(per, names, rate, seconds, reps, n_fallbacks)


def exchanges_figure(per: dict[str, dict], names: tuple[str, ...], rate: float, seconds: float, reps: int,
                     n_fallbacks: int) -> Figure:
    data: dict = {"exchanges": list(per), "fills_per_s": rate, "seconds_each": seconds, "repetitions": reps,
                  "fallbacks_each": n_fallbacks}
    fig = Figure("exchanges", data)
    for name, result in per.items():
        runs, floors, fb = result["runs"], result["floor_runs"], result["fallback"]
        f50, f99 = median_of(floors, "p50_ms"), median_of(floors, "p99_ms")
        entry = {"p50_ms": median_of(runs, "p50_ms"), "p99_ms": median_of(runs, "p99_ms"),
                 "samples": sum(r["n"] for r in runs), "unmatched": sum(r["unmatched"] for r in runs),
                 "floor_p50_ms": f50, "floor_p99_ms": f99, "floor_samples": sum(f["n"] for f in floors),
                 "quirk": PROTOCOLS[name].quirk}
        entry["ratio_p50"], entry["ratio_p99"] = _ratio(entry["p50_ms"], f50), _ratio(entry["p99_ms"], f99)
        entry["fallback_outcome"] = fb["outcome"]
        for key in ("due_to_cancel", "cancelled_to_market"):
            s, f = fb[key], fb[f"floor_{key}"]
            entry.update({f"{key}_p50_ms": s["p50_ms"], f"{key}_p99_ms": s["p99_ms"], f"{key}_n": s["n"],
                          f"floor_{key}_p50_ms": f["p50_ms"], f"floor_{key}_p99_ms": f["p99_ms"],
                          f"{key}_ratio_p50": _ratio(s["p50_ms"], f["p50_ms"]),
                          f"{key}_ratio_p99": _ratio(s["p99_ms"], f["p99_ms"])})
        data[name] = entry
        data[f"runs_{name}"], data[f"floor_runs_{name}"] = runs, floors  # bench --compare's sub-runs
        fig.rows.append((f"12 {name} fill event → commit p50/p99 (n={entry['samples']})",
                         f"{entry['p50_ms']:.2f} / {entry['p99_ms']:.2f} ms", f"{f50:.2f} / {f99:.2f} ms",
                         f"{entry['ratio_p50']}× / {entry['ratio_p99']}×", "reported"))
        for label, key in (("age due → cancel received", "due_to_cancel"),
                           ("cancelled event → market POST", "cancelled_to_market")):
            if not entry[f"{key}_n"]:
                fig.rows.append((f"12 {name} {label}", f"not measured: fallback {fb['outcome']}", "", "",
                                 "NOT REPLACED"))
                continue
            fig.rows.append((f"12 {name} {label} p50/p99 (n={entry[f'{key}_n']})",
                             f"{entry[f'{key}_p50_ms']:.1f} / {entry[f'{key}_p99_ms']:.1f} ms",
                             f"{entry[f'floor_{key}_p50_ms']:.1f} / {entry[f'floor_{key}_p99_ms']:.1f} ms",
                             f"{entry[f'{key}_ratio_p50']}× / {entry[f'{key}_ratio_p99']}×", "reported"))
        fig.notes.append(f"  figure 12 {name}: {entry['quirk']}")
    missing = [n for n in EXCHANGES if n not in per]
    fig.notes.insert(0, (
        f"figure 12: per exchange through ccxt and its double, one account, {rate:g} fills/s, {reps}×{seconds:g} s, "
        f"medians of the repetitions; fill stamped when the double sends its message, committed = the NOTIFY of "
        f"the transaction that recorded it; floor = figure 1's (one-row INSERT + NOTIFY at the same rate, in the "
        f"gaps). Fallback: {n_fallbacks} age fallbacks ({AFTER_S:g} s, a quarter filled first) one at a time, request "
        f"arrival in the double's log; floor = a bare client on the worker's ccxt adapter, one committed one-row "
        f"write per decision, on its own account of the double, alternating with ours"
        + (f"; not measured (no double in this tree): {', '.join(missing)}" if missing else "")))
    return fig


def _ratio(value: float, floor: float) -> float:
    return round(value / floor, 2) if floor else float("nan")
