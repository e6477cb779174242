"""valr_operator: what strategies and operators need without superuser — insert orders (and
lth_pvr.new_order, which fails loudly on an unknown subaccount), request polls and cancels, read
what the reader reads and the tables the README's troubleshooting SQL reads — and nothing that moves
an order by hand."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from tests.test_readme import CRON_MARK, DOCUMENTS, blocks
from tests.support.sql import make_account, order, valr_pairs


def test_new_order_returns_the_new_id(postgresql):
    make_account(postgresql, "acc1")
    order_id = postgresql.execute(
        "SELECT lth_pvr.new_order('acc1', 'BTCZAR', 'buy', 1150000, 0.0001)").fetchone()[0]
    row = order(postgresql, order_id)
    assert (row["status"], row["side"], row["pair"], row["qty"]) == ("pending", "BUY", "BTCZAR", Decimal("0.0001"))


def test_new_order_fails_loudly_for_an_unknown_subaccount(postgresql):
    make_account(postgresql, "acc1")
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="no exchange account with subaccount_id 'acc2'"):
        postgresql.execute("SELECT lth_pvr.new_order('acc2', 'BTCZAR', 'BUY', 1150000, 0.0001)")


def test_new_order_keeps_the_insert_rules(postgresql):
    make_account(postgresql, "acc1")
    valr_pairs(postgresql, "BTCZAR")
    with pytest.raises(psycopg.errors.CheckViolation, match="qty_must_fit_pair_precision|does not fit"):
        postgresql.execute("SELECT lth_pvr.new_order('acc1', 'BTCZAR', 'BUY', 1150000, 0.000000001)")


def test_operator_runs_the_operations_guide_sql_without_superuser(postgresql, operator_url):
    """Every SQL block of the operations guide (troubleshooting included) but role creation and the
    pg_cron one, as a valr_operator member."""
    runnable = [b for b in blocks("sql", DOCUMENTS["docs/operations.md"])
                if not b.startswith(CRON_MARK) and "CREATE ROLE" not in b]
    assert any("v_last_safety_net_run" in b for b in runnable)  # the troubleshooting block is among them
    with psycopg.connect(operator_url, autocommit=True) as conn:
        assert not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        for block in runnable:
            conn.execute(block)
        assert conn.execute("SELECT count(*) FROM lth_pvr.exchange_orders").fetchone()[0] == 6  # limit, market, two new_order, limit with a fallback, Binance's
        conn.execute("SELECT lth_pvr.new_order('', 'BTCZAR', 'BUY', 1150000, 0.0001)")
        conn.execute("SELECT * FROM lth_pvr.v_alerts")


def test_operator_cannot_move_an_order_by_hand(postgresql, operator_url):
    account = make_account(postgresql, "acc1")
    postgresql.commit()
    with psycopg.connect(operator_url, autocommit=True) as conn:
        order_id = conn.execute("SELECT lth_pvr.new_order('acc1', 'BTCZAR', 'BUY', 1150000, 0.0001)").fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE lth_pvr.exchange_orders SET status = 'filled' WHERE exchange_order_id = %s",
                         (order_id,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM lth_pvr.exchange_orders")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT lth_pvr.claim_pending_orders('me')")
    assert account


def test_reader_cannot_insert_orders_with_new_order(postgresql, reader_url):
    make_account(postgresql, "acc1")
    postgresql.commit()
    with psycopg.connect(reader_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT lth_pvr.new_order('acc1', 'BTCZAR', 'BUY', 1150000, 0.0001)")
