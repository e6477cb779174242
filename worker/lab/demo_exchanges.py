"""The demo's exchanges act (issue 25): one account on each of Binance, Kraken and Coinbase, each exchange a
local double that unmodified ccxt drives (worker/lab/doubles), inserted with the same SQL as a VALR account
and its orders. On each: a limit buy that rests, fills in part and then in full; a limit buy under the
market with a fallback_after that is cancelled on time and its unexecuted quantity bought at market. Every
order is watched to its end in the same views, and each exchange is checked against its double's ground
truth (placed once, each fill once, the status its final word means) and the intent invariant."""

from __future__ import annotations

import contextlib
import importlib
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import psycopg

from worker.lab.doubles.server import DoubleThread
from worker.lab.doubles.truth import check_exchange
from worker.lab.worker_process import wait_for

EXCHANGES = ("binance", "kraken", "coinbase")
QTY = Decimal("0.002")
# The lab's pace for ccxt's throttle against a double (<EXCHANGE>_RATE_LIMIT_MS, worker/config.py): ccxt's
# Kraken waits 3 s between private calls (its Starter tier's 0.33/s decay, none of its burst of 15).
LAB_RATE_LIMIT_MS = {"kraken": 100}
# A paced double enforces the exchange's own limit for a key that would run at such a pace, so a worker
# too fast for it is refused as the exchange would refuse it: Kraken's Pro counter (20, -1/s; the worker's
# Kraken tests peaked at 11-14 of Starter's 15, too close to be steady). Unpaced doubles keep their generous
# defaults: the full bench runs at ccxt's own pace (the tests, the demo, the quick bench and chaos are paced).
LAB_LIMITS = {"kraken": {"counter": (20.0, 1.0)}}


@dataclass
class Venue:
    """One exchange's double, its key and the environment the worker reads for it; paced: the worker at
    the lab's pace (LAB_RATE_LIMIT_MS), the double enforcing the exchange's limit (LAB_LIMITS)."""
    name: str
    double: DoubleThread
    key: str
    paced: bool = False

    @property
    def env(self) -> dict[str, str]:
        ref = self.name.upper()
        env = {f"{ref}_BASE_URL": self.double.base_url, f"{ref}_API_KEY": self.key,
               f"{ref}_API_SECRET": self.double.server.keys[self.key]}
        if self.paced and self.name in LAB_RATE_LIMIT_MS:
            env[f"{ref}_RATE_LIMIT_MS"] = str(LAB_RATE_LIMIT_MS[self.name])
        return env

    def symbol(self) -> str:
        """The double's first BTC market: the demo buys Bitcoin everywhere."""
        return next(s for s, m in self.double.server.exchange.markets.items() if m.base == "BTC")


def start_venue(stack: contextlib.ExitStack, name: str, key_prefix: str = "demo", paced: bool = False) -> Venue:
    """One exchange's double in its own thread, with a fresh key (`<name>_double(keys)` in its module)."""
    factory = getattr(importlib.import_module(f"worker.lab.doubles.{name}"), f"{name}_double")
    key = f"{key_prefix}-{name}-{secrets.token_hex(4)}"
    limits = LAB_LIMITS.get(name, {}) if paced else {}
    return Venue(name, stack.enter_context(DoubleThread(factory({key: secret_for(name)}, **limits))), key, paced)


def start_venues(stack: contextlib.ExitStack, names: tuple[str, ...] = EXCHANGES, paced: bool = False) -> list[Venue]:
    return [start_venue(stack, name, paced=paced) for name in names]


def secret_for(name: str) -> str:
    """Kraken's secret is base64 (it signs with the decoded bytes); the others take any string."""
    import base64
    raw = secrets.token_bytes(64)
    return base64.b64encode(raw).decode() if name == "kraken" else raw.hex()


def worker_env(venues: list[Venue]) -> dict[str, str]:
    env: dict[str, str] = {}
    for venue in venues:
        env.update(venue.env)
    return env


def _insert(conn: psycopg.Connection, account: uuid.UUID, symbol: str, price: Decimal,
            after: str | None = None) -> uuid.UUID:
    """A limit BUY with plain SQL, as for VALR: only the pair is the exchange's (ccxt's unified symbol)."""
    intent = uuid.uuid4()
    conn.execute("""INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty,
                                                          fallback_after)
                    VALUES (%s, %s, %s, 'BUY', %s, %s, %s::interval)""", (account, intent, symbol, price, QTY, after))
    return intent


def _statuses(conn: psycopg.Connection, intents: list[uuid.UUID]) -> list[tuple]:
    return conn.execute("SELECT intent_id, order_type, status, filled_qty, customer_order_id::text "
                        "FROM lth_pvr.exchange_orders WHERE intent_id = ANY(%s) ORDER BY created_at",
                        (intents,)).fetchall()


def run_venue(conn: psycopg.Connection, venue: Venue, out, timeout_s: float) -> dict:
    started = time.monotonic()
    account = conn.execute("INSERT INTO lth_pvr.exchange_accounts (exchange, label) VALUES (%s, %s) "
                           "ON CONFLICT (exchange, upper(coalesce(credential_ref, exchange)), subaccount_id) "
                           "DO UPDATE SET label = EXCLUDED.label RETURNING exchange_account_id",
                           (venue.name, f"demo {venue.name}")).fetchone()[0]
    symbol = venue.symbol()
    market = venue.double.server.exchange.markets[symbol]
    resting = _insert(conn, account, symbol, market.bid)
    fallback = _insert(conn, account, symbol, (market.bid * Decimal("0.95")).quantize(market.tick), after="2 seconds")
    conn.commit()
    row = wait_for(lambda: _open_row(conn, resting), timeout_s, f"{venue.name}: the resting order placed")
    out.note(f"{venue.name}: two limit buys of {QTY} {symbol} inserted with SQL and placed through ccxt")
    admin = venue.double.server
    venue.double.call(lambda: admin.exchange.fill(admin.exchange.order(admin.account_of(venue.key),
                                                                      client_id=row), QTY / 2))
    wait_for(lambda: _filled(conn, resting) == QTY / 2, timeout_s, f"{venue.name}: the partial fill recorded")
    venue.double.call(lambda: admin.exchange.set_market(symbol, bid=market.bid - market.tick * 10,
                                                        ask=market.bid - market.tick))
    wait_for(lambda: _all_final(conn, [resting, fallback]), timeout_s, f"{venue.name}: every order final")
    # A final status may come before its fills (Coinbase's are read over REST after the order's update):
    # the database is read once it holds what the double holds.
    wait_for(lambda: _matches(conn, venue), timeout_s, f"{venue.name}: every fill the exchange made recorded")
    rows = _statuses(conn, [resting, fallback])
    replaced = [r for r in rows if r[0] == fallback and r[1] == "market"]
    out.note(f"{venue.name}: resting order filled in two fills; the fallback "
             + (f"bought its {replaced[0][3]} BTC at market" if replaced else "placed NO market replacement"))
    return {"exchange": venue.name, "symbol": symbol, "orders": [r[1:4] for r in rows],
            "fallback_replaced": bool(replaced and replaced[0][2] == "filled"),
            "elapsed_s": round(time.monotonic() - started, 2)}


def _open_row(conn: psycopg.Connection, intent: uuid.UUID) -> str | None:
    row = conn.execute("SELECT customer_order_id::text FROM lth_pvr.exchange_orders "
                       "WHERE intent_id = %s AND status = 'submitted' AND ws_monitored_at IS NOT NULL", (intent,)).fetchone()
    conn.commit()
    return row[0] if row else None


def _matches(conn: psycopg.Connection, venue: Venue) -> bool:
    ok = check_exchange(conn, venue.name, venue.double.call(lambda: _truth(venue.double.server))).ok
    conn.commit()
    return ok


def _filled(conn: psycopg.Connection, intent: uuid.UUID) -> Decimal:
    value = conn.execute("SELECT coalesce(sum(f.qty), 0) FROM lth_pvr.order_fills f "
                         "JOIN lth_pvr.exchange_orders o USING (exchange_order_id) WHERE o.intent_id = %s",
                         (intent,)).fetchone()[0]
    conn.commit()
    return value


def _all_final(conn: psycopg.Connection, intents: list[uuid.UUID]) -> bool:
    open_ = conn.execute("SELECT count(*) FROM lth_pvr.exchange_orders WHERE intent_id = ANY(%s) "
                         "AND NOT lth_pvr.is_final(status)", (intents,)).fetchone()[0]
    conn.commit()
    return open_ == 0


def run(conn: psycopg.Connection, database_url: str, venues: list[Venue], out, timeout_s: float = 30.0) -> dict:
    """Every exchange's act at once (each its own account, double and connection: nothing shared but the
    worker), then each checked against its double's ground truth."""
    def act(venue: Venue) -> dict:
        with psycopg.connect(database_url) as own:
            return run_venue(own, venue, out, timeout_s)

    with ThreadPoolExecutor(len(venues) or 1, thread_name_prefix="demo-exchange") as pool:
        results = list(pool.map(act, venues))
    checks = {}
    for venue in venues:
        truth = venue.double.call(lambda v=venue: _truth(v.double.server))
        check = check_exchange(conn, venue.name, truth)
        checks[venue.name] = {**check.summary(), "problems": check.problems()[:10]}
    over = conn.execute("SELECT count(*) FROM lth_pvr.v_intents WHERE filled_qty > qty").fetchone()[0]
    conn.commit()
    ok = all(c["ok"] for c in checks.values()) and all(r["fallback_replaced"] for r in results) and over == 0
    return {"venues": results, "ground_truth": checks, "intents_over_executed": over, "ok": ok}


def _truth(server) -> dict:
    """The double's /_double/truth, read in-process."""
    ex = server.exchange
    return {"orders": [{"clientOrderId": o.client_id, "status": o.status, "filled": str(o.filled),
                        "amount": str(o.amount)} for o in ex.orders.values()],
            "trades": [{"id": t.id, "symbol": t.symbol} for t in ex.trades]}
