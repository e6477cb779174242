"""End-to-end helpers: the simulator's admin API, worker processes, and SQL a user would type.

Workers run as real processes (`python -m worker run`), log to a file, connect as a login role that
is only a member of valr_worker (least privilege is exercised, not assumed), and talk to the
simulator over real sockets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg

from tests.support.sql import insert_order, settle
from worker.lab.worker_process import WorkerProcess as SharedWorkerProcess
from worker.lab.worker_process import wait_for as shared_wait_for

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789abcdef"


class SimAdmin:
    """The simulator's /_sim/ endpoints."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def _post(self, path: str, body: dict) -> dict:
        response = self.http.post(f"/_sim/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def truth(self) -> dict:
        return self.http.get("/_sim/truth").raise_for_status().json()

    def counters(self) -> dict:
        return self.http.get("/_sim/counters").raise_for_status().json()

    def fill(self, customer_order_id: str, quantity: str | None = None) -> dict:
        body = {"customerOrderId": customer_order_id}
        if quantity is not None:
            body["quantity"] = quantity
        return self._post("fill", body)

    def cancel(self, customer_order_id: str) -> dict:
        return self._post("cancel", {"customerOrderId": customer_order_id})

    def faults(self, **changes) -> dict:
        return self._post("faults", changes)

    def market(self, pair: str, **changes) -> dict:
        """Set or jump a pair's market (see /_sim/market); returns its summary."""
        return self._post("market", {"pair": pair, **changes})

    def balance(self, subaccount_id: str, currency: str, total: str) -> dict:
        return self._post("balances", {"subaccountId": subaccount_id, "currency": currency, "total": total})

    def status_lookups(self) -> int:
        """Per-order REST status lookups the simulator has served."""
        rest = self.counters()["rest"]
        return sum(n for route, n in rest.items() if "/orderid/" in route or "/customerorderid/" in route)

    def order_by_customer_id(self, customer_order_id: str) -> list[dict]:
        return [o for o in self.truth()["orders"] if o["customerOrderId"] == customer_order_id]


def WorkerProcess(db_url: str, sim_url: str, log_path: Path, *extra: str) -> SharedWorkerProcess:
    """A started worker for a test: short leases and catch-up, debug logs, the test credentials."""
    worker = SharedWorkerProcess(log_path.stem, db_url, sim_url, API_KEY, API_SECRET, log_path.parent,
                                 extra=("--lease-ttl", "4", "--catch-up", "2", "--log-level", "debug", *extra))
    worker.start()
    return worker


@contextmanager
def empty_database(embedded_pg, name: str) -> Iterator[str]:
    """A brand-new empty database (not cloned from the migrated template), with its cron jobs and
    itself dropped at the end; yields its URL."""
    from worker.db.migrate import unschedule_jobs

    with embedded_pg.connect(autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = embedded_pg.url(name)
    try:
        yield url
    finally:
        unschedule_jobs(url)
        with embedded_pg.connect(autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    return shared_wait_for(predicate, timeout, what, interval)


class Orders:
    """What a person does in psql: accounts and orders inserted with plain SQL."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def settle(self, **values: object) -> None:
        """Settings for this test's database: settle(fallback_price_move=0.5)."""
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            settle(conn, **values)

    def account(self, subaccount_id: str = "", label: str = "customer") -> uuid.UUID:
        return self.sql(
            "INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES (%s, %s) RETURNING exchange_account_id",
            (subaccount_id, label),
        )[0][0]

    def insert(self, account_id: uuid.UUID, qty: str = "0.0001", price: str | None = "1200000", side: str = "BUY",
               intent: uuid.UUID | None = None, **columns: object) -> tuple[uuid.UUID, uuid.UUID]:
        """A limit order (any other exchange_orders column by name: pair='ETHZAR', fallback_after='5 minutes',
        fallback_price_move='0.01', as a strategy's SQL has them); returns (order id, intent id)."""
        intent = intent or uuid.uuid4()
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            order_id = insert_order(conn, account_id, intent_id=intent, side=side, price=price, qty=qty, **columns)
        return order_id, intent

    def insert_market(self, account_id: uuid.UUID, qty: str = "0.0001", side: str = "BUY",
                      intent: uuid.UUID | None = None) -> tuple[uuid.UUID, uuid.UUID]:
        """A market order, as a strategy's SQL has it: no price, order_type 'market'."""
        return self.insert(account_id, qty, None, side, intent, order_type="market")

    def get(self, order_id: uuid.UUID) -> dict:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cur = conn.cursor(row_factory=psycopg.rows.dict_row)
            return cur.execute("SELECT * FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s",
                               (order_id,)).fetchone()

    def status(self, order_id: uuid.UUID) -> str:
        return self.get(order_id)["status"]

    def fills(self, order_id: uuid.UUID) -> list[tuple[str, Decimal]]:
        return self.sql("SELECT trade_id, qty FROM lth_pvr.order_fills WHERE exchange_order_id = %s ORDER BY traded_at",
                        (order_id,))

    def wait_status(self, order_id: uuid.UUID, status: str, timeout: float = 20.0) -> dict:
        wait_for(lambda: self.status(order_id) == status, timeout, what=f"order {order_id} to be {status}")
        return self.get(order_id)


def compare_with_truth(orders: Orders, truth: dict) -> list[str]:
    """Differences between the database and the exchange's ground truth (empty = identical)."""
    from worker.lab.truth import check

    with psycopg.connect(orders.db_url) as conn:
        return check(conn, truth).problems()
