"""Helpers for the SQL lifecycle tests (test_sql_*.py), and tests of the small parsing helpers.

Every call passes an explicit p_now (the simulated clock), so tests move through hours of cron
ticks without waiting. Payload builders produce VALR's shapes, numbers as strings.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
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


def make_account(conn: psycopg.Connection, subaccount_id: str | None = None) -> uuid.UUID:
    sub = subaccount_id if subaccount_id is not None else uuid.uuid4().hex[:12]
    return scalar(conn, "INSERT INTO lth_pvr.exchange_accounts (subaccount_id) VALUES (%s) "
                        "RETURNING exchange_account_id", (sub,))


def valr_pairs(conn: psycopg.Connection, *symbols: str) -> None:
    """lth_pvr.pairs refreshed from the simulator's VALR pair list (all of it, or these symbols): a fresh
    install holds no rules until the first refresh, so a test of a pair rule asks for them."""
    listed = [p for p in CATALOGUE if not symbols or p["symbol"] in symbols]
    conn.execute("SELECT * FROM lth_pvr.refresh_pairs(%s, %s)", (Jsonb(listed), Jsonb(order_types())))


def make_order(conn: psycopg.Connection, account: uuid.UUID, *, status: str = "pending",
               ext_order_id: str | None = None, qty: str = "0.001", price: str = "1000000",
               pair: str = "BTCZAR", created_at: datetime = T0,
               submitted_at: datetime | None = None) -> uuid.UUID:
    return scalar(conn, """
        INSERT INTO lth_pvr.exchange_orders
            (exchange_account_id, intent_id, pair, side, price, qty, status, ext_order_id,
             created_at, updated_at, submitted_at)
        VALUES (%s, gen_random_uuid(), %s, 'BUY', %s, %s, %s, %s, %s, %s, %s)
        RETURNING exchange_order_id""",
        (account, pair, price, qty, status, ext_order_id, created_at, created_at, submitted_at))


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
    return rows(conn, "SELECT * FROM lth_pvr.claim_pending_orders(%s, %s, %s, %s)", (worker, accounts, limit, now))


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


# -- the parsing helpers themselves (one database per test: loop inside, keep the suite fast) ------

STATUS_MAPPING = [
    ("Placed", "submitted"), ("Partially Filled", "submitted"), ("Order Modified", "submitted"),
    ("Active", "submitted"), ("Filled", "filled"), ("Cancelled", "cancelled"), ("Expired", "cancelled"),
    ("Partially Filled and Cancelled Due To Slippage", "cancelled"), ("Failed", "failed"),
    ("Instant Order Completed", None), ("placed", None), ("", None),
]

NUMBERS = [
    ('"0.0001"', "0.0001"), ("0.5", "0.5"), ('" 12 "', "12"), ('"1e-3"', "0.001"), ('"-2"', "-2"),
    ('"NaN"', None), ('"Infinity"', None), ('"abc"', None), ('"1e999999"', None), ("null", None),
    ("[1]", None), ('{"a": 1}', None), ("true", None), ('""', None),
]

TIMES = [
    ('"2025-10-28T10:04:40.566Z"', True), ('"2025-10-28T10:04:40Z"', True), ("1761645880566", True),
    ('"2025-02-30T10:00:00Z"', False), ('"2025-13-01T10:00:00Z"', False), ('"yesterday"', False),
    ('"now"', False), ("null", False), ("42", False),
    # Around json_time's fast path (VALR's shape, day <= 28) and past it (the general path).
    ('"0001-01-01T00:00:00Z"', True), ('"0000-01-01T00:00:00Z"', False), ('"2024-02-29T23:59:59.999999999Z"', True),
    ('"2025-02-29T00:00:00Z"', False), ('"2025-01-31T24:00:00Z"', True), ('"2025-01-01T23:60:00Z"', False),
    ('"2025-12-31T23:59:59.9999999Z"', True),
]


def test_status_mapping_lives_in_one_function(postgresql):
    for valr, ours in STATUS_MAPPING:
        assert scalar(postgresql, "SELECT lth_pvr.valr_status(%s)", (valr,)) == ours, valr


def test_json_numeric_never_raises(postgresql):
    for value, expected in NUMBERS:
        got = scalar(postgresql, "SELECT lth_pvr.json_numeric(%s::jsonb)::text", (value,))
        assert (got is None and expected is None) or float(got) == float(expected), value


def test_json_time_never_raises_and_reads_utc(postgresql):
    for value, valid in TIMES:
        got = scalar(postgresql, "SELECT lth_pvr.json_time(%s::jsonb)", (value,))
        assert (got is not None) == valid, value
    got = scalar(postgresql, "SELECT lth_pvr.json_time('\"2025-10-28T10:04:40.566Z\"')")
    assert got == datetime(2025, 10, 28, 10, 4, 40, 566000, tzinfo=timezone.utc)
