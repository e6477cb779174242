"""Bad input a person can type in psql fails with an error naming the field or rule, and changes nothing."""

from __future__ import annotations

import uuid

import psycopg
import pytest

INSERT = """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty)
            VALUES (%(account)s, %(intent)s, %(pair)s, %(side)s, %(price)s, %(qty)s)"""


def good_order(account_id: uuid.UUID, **overrides) -> dict:
    order = {"account": account_id, "intent": uuid.uuid4(), "pair": "BTCZAR", "side": "BUY",
             "price": "1200000", "qty": "0.0001"}
    order.update(overrides)
    return order


def test_spec_account_insert_works(postgresql):
    postgresql.execute("INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES ('', 'primary')")
    row = postgresql.execute("SELECT exchange_account_id, subaccount_id FROM lth_pvr.exchange_accounts").fetchone()
    assert row[0] is not None and row[1] == ""


def test_a_good_order_inserts_as_pending_with_defaults(postgresql, account):
    postgresql.execute(INSERT, good_order(account))
    row = postgresql.execute(
        "SELECT status, requires_polling, poll_count, post_only, time_in_force, filled_qty FROM lth_pvr.exchange_orders"
    ).fetchone()
    assert row == ("pending", True, 0, False, "GTC", 0)


@pytest.mark.parametrize(
    "overrides, rule",
    [
        ({"price": "0"}, "price_must_be_positive"),
        ({"price": "-5"}, "price_must_be_positive"),
        ({"qty": "0"}, "qty_must_be_positive"),
        ({"side": "buy"}, "side_must_be_buy_or_sell"),
        ({"side": "HOLD"}, "side_must_be_buy_or_sell"),
        ({"pair": "btc/zar"}, "pair_must_be_uppercase_symbol"),
        ({"pair": "BTC"}, "pair_must_be_uppercase_symbol"),
        ({"account": uuid.uuid4()}, "exchange_account_must_exist"),
    ],
)
def test_bad_order_is_refused_naming_its_rule(postgresql, account, overrides, rule):
    with pytest.raises(psycopg.errors.IntegrityError) as err:
        postgresql.execute(INSERT, good_order(account, **overrides))
    assert err.value.diag.constraint_name == rule
    assert rule in str(err.value)
    postgresql.rollback()
    assert postgresql.execute("SELECT count(*) FROM lth_pvr.exchange_orders").fetchone()[0] == 0


def test_second_open_order_for_one_intent_is_refused(postgresql, account):
    intent = uuid.uuid4()
    postgresql.execute(INSERT, good_order(account, intent=intent))
    with pytest.raises(psycopg.errors.UniqueViolation) as err:
        postgresql.execute(INSERT, good_order(account, intent=intent))
    assert err.value.diag.constraint_name == "one_open_order_per_intent"


def test_intent_may_be_reused_once_its_order_is_finished(postgresql, account):
    intent = uuid.uuid4()
    postgresql.execute(INSERT, good_order(account, intent=intent))
    # A finished order (here: cancelled before placement) frees its intent for a new attempt.
    postgresql.execute("SELECT lth_pvr.request_cancel(exchange_order_id) FROM lth_pvr.exchange_orders")
    postgresql.execute(INSERT, good_order(account, intent=intent))
    assert postgresql.execute("SELECT count(*) FROM lth_pvr.exchange_orders").fetchone()[0] == 2


def test_bad_subaccount_id_is_refused(postgresql):
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        postgresql.execute("INSERT INTO lth_pvr.exchange_accounts (subaccount_id) VALUES ('1; DROP TABLE x')")
    assert err.value.diag.constraint_name == "subaccount_id_must_be_alphanumeric"
