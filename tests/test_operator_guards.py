"""Operator SQL that used to be accepted without a word (issue 14, item 5): each is now refused by a
named rule, or goes through a function that logs it. Real PostgreSQL; the last test a real worker."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from decimal import Decimal

import psycopg
import pytest

from tests.harness import API_KEY, API_SECRET
from tests.support.sql import fill, make_account, status_payload, submitted_order, trade_payload, update


def _insert(conn, account, qty: str, price: str = "1200000", pair: str = "BTCZAR") -> None:
    conn.execute("INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty) "
                 "VALUES (%s, %s, %s, 'BUY', %s, %s)", (account, uuid.uuid4(), pair, price, qty))


@pytest.mark.parametrize("qty, price, rule", [
    ("Infinity", "1200000", "qty_must_be_finite"),
    ("NaN", "1200000", "qty_must_be_finite"),
    ("0.0001", "Infinity", "price_must_be_finite"),
    ("0.0001", "NaN", "price_must_be_finite"),
    ("1e30", "1200000", "order_value_must_be_plausible"),
    ("0.0001", "1e30", "order_value_must_be_plausible"),
])
def test_non_finite_and_absurd_quantities_and_prices_are_refused_by_name(postgresql, qty, price, rule):
    account = make_account(postgresql)
    postgresql.commit()
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        _insert(postgresql, account, qty, price)
    assert err.value.diag.constraint_name == rule
    postgresql.rollback()
    assert postgresql.execute("SELECT count(*) FROM lth_pvr.exchange_orders").fetchone()[0] == 0


def test_fills_are_append_only_and_corrected_through_a_logged_function(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    fill(postgresql, account, trade_payload("t1", "valr-1", "0.0004", "1000000"))
    fill(postgresql, account, trade_payload("t2", "valr-1", "0.0002", "1000000"))
    postgresql.commit()
    for statement in ("DELETE FROM lth_pvr.order_fills", "UPDATE lth_pvr.order_fills SET qty = 1",
                      "TRUNCATE lth_pvr.order_fills CASCADE"):
        with pytest.raises(psycopg.errors.CheckViolation) as err:
            postgresql.execute(statement)
        assert err.value.diag.constraint_name == "order_fills_must_be_append_only"
        postgresql.rollback()

    def order() -> tuple:
        return postgresql.execute("SELECT filled_qty, filled_value, avg_price FROM lth_pvr.exchange_orders "
                                  "WHERE exchange_order_id = %s", (order_id,)).fetchone()

    assert postgresql.execute("SELECT lth_pvr.correct_fill('t2', 0, NULL, 'booked twice by VALR support')"
                              ).fetchone()[0] == "removed"
    assert order() == (Decimal("0.0004"), Decimal("400"), Decimal("1000000"))
    assert postgresql.execute("SELECT lth_pvr.correct_fill('t1', 0.0003, 900000, 'VALR restated the trade')"
                              ).fetchone()[0] == "corrected"
    assert order() == (Decimal("0.0003"), Decimal("270"), Decimal("900000"))
    logged = postgresql.execute("SELECT source, outcome, detail FROM lth_pvr.order_events "
                                "WHERE kind = 'fill_correction' ORDER BY event_id").fetchall()
    assert logged == [("operator", "removed", "booked twice by VALR support"),
                      ("operator", "corrected", "VALR restated the trade")]


def test_a_status_typed_by_hand_is_refused_even_for_a_superuser(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    postgresql.commit()
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        postgresql.execute("UPDATE lth_pvr.exchange_orders SET status = 'cancelled' WHERE exchange_order_id = %s",
                           (order_id,))
    assert err.value.diag.constraint_name == "status_must_change_through_functions"
    postgresql.rollback()
    # Still in the safety net, and VALR's word still moves it.
    assert postgresql.execute("SELECT status, requires_polling FROM lth_pvr.exchange_orders").fetchone() == (
        "submitted", True)
    update(postgresql, account, status_payload("valr-1", "Filled"))
    assert postgresql.execute("SELECT status FROM lth_pvr.exchange_orders").fetchone() == ("filled",)


def test_a_worker_started_without_a_free_connection_exits_with_one_line(worker_url, embedded_pg, sim):
    role = psycopg.conninfo.conninfo_to_dict(worker_url)["user"]
    with embedded_pg.connect(autocommit=True) as conn:
        conn.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')  # every connection of the worker refused
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "worker", "run", "--database-url", worker_url,
                           "--valr-base-url", sim.base_url],
                          capture_output=True, text=True, timeout=90,
                          env={"PATH": "/usr/bin:/bin", "VALR_API_KEY": API_KEY, "VALR_API_SECRET": API_SECRET})
    assert proc.returncode == 2  # a start error, like every other (issue 15): one line, exit 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and ("too many connections" in last or "no PostgreSQL connection" in last), last
    assert "Traceback" not in proc.stderr + proc.stdout and "PoolTimeout" not in proc.stderr + proc.stdout
    assert time.monotonic() - started < 60
