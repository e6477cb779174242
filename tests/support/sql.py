"""Helpers for the SQL lifecycle tests (test_sql_*.py and others over one psycopg connection).

Every call passes an explicit p_now (the simulated clock), so tests move through hours of cron
ticks without waiting. Payload builders produce VALR's shapes, numbers as strings.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from worker.lab.sim.pairs import CATALOGUE, order_types

T0 = datetime(2025, 3, 3, 12, 0, 0, tzinfo=timezone.utc)


def at(**delta: float) -> datetime:
    """T0 plus a delta: at(minutes=5)."""
    return T0 + timedelta(**delta)


def rows(conn: psycopg.Connection, query: str, params: tuple | list = ()) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(query, params)
    return cur.fetchall() if cur.description else []


def one(conn: psycopg.Connection, query: str, params: tuple | list = ()) -> dict[str, Any]:
    found = rows(conn, query, params)
    assert len(found) == 1, found
    return found[0]


def scalar(conn: psycopg.Connection, query: str, params: tuple | list = ()) -> Any:
    return conn.execute(query, params).fetchone()[0]


def settle(conn: psycopg.Connection, **values: object) -> None:
    """Settings for this test's database: settle(conn, placement_requeues_max=0). The one way a test
    changes a setting (Orders.settle calls it)."""
    for name, value in values.items():
        conn.execute("UPDATE lth_pvr.settings SET value = %s WHERE name = %s", (value, name))


def make_account(conn: psycopg.Connection, subaccount_id: str | None = None) -> uuid.UUID:
    sub = subaccount_id if subaccount_id is not None else uuid.uuid4().hex[:12]
    return scalar(conn, "INSERT INTO lth_pvr.exchange_accounts (subaccount_id) VALUES (%s) "
                        "RETURNING exchange_account_id", (sub,))


def insert_order(conn: psycopg.Connection, account: uuid.UUID, **columns: Any) -> uuid.UUID:
    """The one way a test inserts an order, as a strategy would with plain SQL: any exchange_orders
    columns by name (fallback_after='5 minutes', order_type='market', status='submitted', ...); a new
    intent, BTCZAR and BUY unless given; a column given None is left to its default. Returns its id.
    (Bulk loads with generate_series, and tests whose subject is the INSERT statement, write their own.)"""
    values = {"intent_id": uuid.uuid4(), "pair": "BTCZAR", "side": "BUY", **columns, "exchange_account_id": account}
    values = {name: value for name, value in values.items() if value is not None}
    query = sql.SQL("INSERT INTO lth_pvr.exchange_orders ({}) VALUES ({}) RETURNING exchange_order_id").format(
        sql.SQL(", ").join(map(sql.Identifier, values)), sql.SQL(", ").join(sql.Placeholder() * len(values)))
    return conn.execute(query, list(values.values())).fetchone()[0]


def valr_pairs(conn: psycopg.Connection, *symbols: str) -> None:
    """lth_pvr.pairs refreshed from the simulator's VALR pair list (all of it, or these symbols): a fresh
    install holds no rules until the first refresh, so a test of a pair rule asks for them."""
    listed = [p for p in CATALOGUE if not symbols or p["symbol"] in symbols]
    conn.execute("SELECT * FROM lth_pvr.refresh_pairs(%s, %s)", (Jsonb(listed), Jsonb(order_types())))


def make_order(conn: psycopg.Connection, account: uuid.UUID, *, status: str = "pending",
               ext_order_id: str | None = None, qty: str = "0.001", price: str = "1000000",
               pair: str = "BTCZAR", created_at: datetime = T0,
               submitted_at: datetime | None = None) -> uuid.UUID:
    """An order of the SQL tests' clock: created (and updated) at `created_at`, T0 unless given."""
    return insert_order(conn, account, pair=pair, price=price, qty=qty, status=status, ext_order_id=ext_order_id,
                        created_at=created_at, updated_at=created_at, submitted_at=submitted_at)


def order(conn: psycopg.Connection, order_id: uuid.UUID) -> dict[str, Any]:
    return one(conn, "SELECT * FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s", (order_id,))


def events(conn: psycopg.Connection, order_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    if order_id is None:
        return rows(conn, "SELECT * FROM lth_pvr.order_events ORDER BY event_id")
    return rows(conn, "SELECT * FROM lth_pvr.order_events WHERE exchange_order_id = %s ORDER BY event_id",
                (order_id,))


def lease(conn: psycopg.Connection, worker: str, now: datetime = T0, ttl: int = 3600) -> list[dict]:
    conn.execute("SELECT lth_pvr.worker_heartbeat(%s, 'test', 1, %s)", (worker, now))
    return rows(conn, "SELECT * FROM lth_pvr.acquire_leases(%s, %s, %s)", (worker, ttl, now))


def claim(conn: psycopg.Connection, worker: str, now: datetime = T0, limit: int = 100,
          accounts: list[uuid.UUID] | None = None) -> list[dict]:
    return rows(conn, "SELECT * FROM lth_pvr.claim_pending_orders(%s, %s, %s, p_now => %s)", (worker, accounts, limit, now))


def place(conn: psycopg.Connection, order_id: uuid.UUID, ext: str | None, reason: str | None = None,
          now: datetime = T0) -> dict:
    return one(conn, "SELECT * FROM lth_pvr.record_placement(%s, %s, %s, NULL, %s)", (order_id, ext, reason, now))


def submitted_order(conn: psycopg.Connection, account: uuid.UUID | None = None, *, ext: str | None = None,
                    now: datetime = T0, qty: str = "0.001", worker: str = "w1") -> uuid.UUID:
    """pending -> placing -> submitted through the worker-facing functions."""
    account = account or make_account(conn)
    order_id = make_order(conn, account, qty=qty, created_at=now)
    lease(conn, worker, now)
    claimed = claim(conn, worker, now, accounts=[account])
    assert order_id in {c["exchange_order_id"] for c in claimed}
    assert place(conn, order_id, ext or f"valr-{uuid.uuid4()}", now=now)["status"] == "submitted"
    return order_id


def update(conn: psycopg.Connection, account: uuid.UUID, payload: Any, source: str = "ws",
           now: datetime = T0) -> dict:
    return one(conn, "SELECT * FROM lth_pvr.record_order_update(%s, %s, %s, %s)",
               (account, source, Jsonb(payload), now))


def fill(conn: psycopg.Connection, account: uuid.UUID, payload: Any, source: str = "ws",
         now: datetime = T0) -> dict:
    return one(conn, "SELECT * FROM lth_pvr.record_fill(%s, %s, %s, %s)", (account, source, Jsonb(payload), now))


def status_payload(ext: str | None, status: str, *, intent: uuid.UUID | None = None, original: str = "0.001",
                   remaining: str = "0.001", reason: str | None = "", updated: str = "2025-03-03T12:00:01.000Z"
                   ) -> dict:
    data: dict[str, Any] = {
        "orderStatusType": status, "currencyPair": "BTCZAR", "originalPrice": "1000000",
        "remainingQuantity": remaining, "originalQuantity": original, "orderSide": "buy",
        "orderType": "limit", "failedReason": reason, "orderUpdatedAt": updated,
        "orderCreatedAt": "2025-03-03T12:00:00.000Z", "executedPrice": "0", "executedQuantity": "0",
        "executedFee": "0", "timeInForce": "GTC",
    }
    if ext is not None:
        data["orderId"] = ext
    if intent is not None:
        data["customerOrderId"] = str(intent)
    return data


def trade_payload(trade_id: str, ext: str | None, qty: str, price: str = "1000000", *,
                  intent: uuid.UUID | None = None, traded: str = "2025-03-03T12:00:02.000Z") -> dict:
    data: dict[str, Any] = {"price": price, "quantity": qty, "currencyPair": "BTCZAR", "tradedAt": traded,
                            "side": "buy", "id": trade_id, "fee": "0.0000001", "feeCurrency": "BTC"}
    if ext is not None:
        data["orderId"] = ext
    if intent is not None:
        data["customerOrderId"] = str(intent)
    return data


def listener(db_url: str, *channels: str) -> psycopg.Connection:
    conn = psycopg.connect(db_url, autocommit=True)
    for channel in channels:
        conn.execute(f"LISTEN {channel}")
    return conn


def received(conn: psycopg.Connection, expect: int | None = None, timeout: float = 0.3) -> list[tuple[str, str]]:
    """Notifications delivered: waits until `expect` arrived, or `timeout` seconds (to prove silence)."""
    return [(n.channel, n.payload) for n in conn.notifies(timeout=timeout if expect is None else 5, stop_after=expect)]


# -- the fallback: an order with one, prices, VALR's cancelled word ------------------------------------

def fallback_order(conn, account, *, side: str = "BUY", price: str = "1000000", qty: str = "0.001",
                   after: str | None = None, move: str | None = None, now: datetime = T0,
                   ext: str | None = None, confirm_ms: int | None = 0) -> tuple[uuid.UUID, str]:
    """A limit order with a fallback, pending -> placing -> submitted (VALR accepted it at `now`). Its
    price trigger fires on the first price that crosses (confirm_ms 0) unless told otherwise
    (None: the account's or the setting's confirmation)."""
    order_id = insert_order(conn, account, side=side, price=price, qty=qty, fallback_after=after,
                            fallback_price_move=move, fallback_price_confirm_ms=confirm_ms, created_at=now,
                            updated_at=now)
    lease(conn, "w1", now)
    assert order_id in {c["exchange_order_id"] for c in claim(conn, "w1", now, accounts=[account])}
    ext = ext or f"valr-{uuid.uuid4()}"
    assert place(conn, order_id, ext, now=now)["status"] == "submitted"
    return order_id, ext


def prices(conn, pair: str = "BTCZAR", *, bid: str, ask: str, created: datetime, now: datetime,
           source: str = "ws") -> list[dict]:
    frame = {"type": "MARKET_SUMMARY_UPDATE", "currencyPairSymbol": pair,
             "data": {"currencyPair": pair, "bidPrice": bid, "askPrice": ask, "lastTradedPrice": bid,
                      "created": created.isoformat().replace("+00:00", "Z")}}
    return rows(conn, "SELECT * FROM lth_pvr.record_market_prices(%s, %s, %s)", (Jsonb([frame]), source, now))


def fallback_events(conn, order_id) -> list[dict]:
    return rows(conn, """SELECT outcome, detail, payload FROM lth_pvr.order_events
                          WHERE exchange_order_id = %s AND kind = 'fallback' ORDER BY event_id""", (order_id,))


def replacement(conn, order_id) -> dict | None:
    found = rows(conn, "SELECT * FROM lth_pvr.exchange_orders WHERE replaces_order_id = %s", (order_id,))
    return found[0] if found else None


def cancelled(ext: str, *, remaining: str, original: str = "0.001", status: str = "Cancelled",
              updated: str = "2025-03-03T12:10:00.000Z") -> dict:
    return status_payload(ext, status, original=original, remaining=remaining, updated=updated)


def constraint_of(conn, statement: str, params: tuple) -> str:
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        with conn.transaction():
            conn.execute(statement, params)
    return caught.value.diag.constraint_name


def fire_age(conn, order_id, now=None):
    conn.execute("SELECT * FROM lth_pvr.request_due_fallbacks(NULL, %s)", (now or at(minutes=6),))
    assert order(conn, order_id)["fallback_reason"] == "age"


# -- record_batch: a session's frames ---------------------------------------------------------------

def open_session(conn, account, now=T0) -> int:
    session = one(conn, "SELECT lth_pvr.session_open('w1', %s, %s) AS id", (account, now))["id"]
    rows(conn, "SELECT * FROM lth_pvr.session_authenticated(%s, %s)", (session, now))
    return session


def batch(conn, session, frames, now=T0) -> list[dict]:
    return rows(conn, "SELECT * FROM lth_pvr.record_batch(%s, %s, %s)", (session, Jsonb(frames), now))


def open_order_item(postgresql, order_id, ext: str) -> dict:
    return {"orderId": ext, "side": "buy", "quantity": "0.001", "price": "1000000", "currencyPair": "BTCZAR",
            "originalQuantity": "0.001", "customerOrderId": str(order(postgresql, order_id)["intent_id"]),
            "status": "Placed", "updatedAt": "2025-03-03T12:00:05Z", "type": "limit"}
