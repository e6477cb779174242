"""SQL a person gets wrong in psql, beyond tests/test_schema_rules.py: each insert fails with an error
naming the rule (or the column), and leaves nothing behind."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.support.sql import valr_pairs

COLUMNS = ("exchange_account_id", "intent_id", "pair", "side", "price", "qty", "time_in_force", "status",
           "ext_order_id", "post_only")


def insert(conn, account: uuid.UUID, **overrides) -> None:
    order = {"exchange_account_id": account, "intent_id": uuid.uuid4(), "pair": "BTCZAR", "side": "BUY",
             "price": "1200000", "qty": "0.0001"}
    order.update(overrides)
    names = [c for c in COLUMNS if c in order]
    conn.execute(f"INSERT INTO lth_pvr.exchange_orders ({', '.join(names)}) "  # column names from COLUMNS only
                 f"VALUES ({', '.join('%s' for _ in names)})", [order[c] for c in names])


def orders_left(conn) -> int:
    conn.rollback()
    return conn.execute("SELECT count(*) FROM lth_pvr.exchange_orders").fetchone()[0]


# One database for all cases (a fresh clone per case costs more than the cases themselves).
# VALR's pair rules once the table was refreshed from VALR (a fresh install holds none).
PRECISION_INSERTS = [
    ({"qty": "0.000000001"}, "qty_must_fit_pair_precision"),           # BTCZAR: 8 decimal places
    ({"pair": "XRPZAR", "qty": "1.0000001", "price": "10"}, "qty_must_fit_pair_precision"),
    ({"price": "1200000.5"}, "price_must_fit_pair_tick_size"),          # BTCZAR: tick size 1
    ({"pair": "XRPZAR", "qty": "10", "price": "10.001"}, "price_must_fit_pair_tick_size"),
]
WRONG_INSERTS = [
    ({"qty": "-0.0001"}, "qty_must_be_positive"),
    ({"price": "-1"}, "price_must_be_positive"),
    ({"side": "Buy"}, "side_must_be_buy_or_sell"),
    ({"side": ""}, "side_must_be_buy_or_sell"),
    ({"time_in_force": "GTD"}, "time_in_force_must_be_gtc_fok_or_ioc"),
    ({"status": "filled"}, "order_must_be_inserted_pending_or_submitted"),
    ({"status": "placing"}, "order_must_be_inserted_pending_or_submitted"),
    ({"status": "done"}, "order_must_be_inserted_pending_or_submitted"),
    ({"status": "submitted"}, "submitted_order_must_have_ext_order_id"),
    ({"pair": "BTC-ZAR"}, "pair_must_be_uppercase_symbol"),
    ({"pair": "'; DROP TABLE lth_pvr.exchange_orders; --"}, "pair_must_be_uppercase_symbol"),
]


def test_wrong_order_insert_names_its_rule(postgresql, account):
    assert_named_refusals(postgresql, account, WRONG_INSERTS)


def test_insert_finer_than_the_pair_names_its_rule(postgresql, account):
    valr_pairs(postgresql, "BTCZAR", "XRPZAR")
    postgresql.commit()
    assert_named_refusals(postgresql, account, PRECISION_INSERTS)


def assert_named_refusals(postgresql, account, cases: list) -> None:
    for overrides, rule in cases:
        with pytest.raises(psycopg.errors.IntegrityError) as err:
            insert(postgresql, account, **overrides)
        diag = err.value.diag
        assert diag.constraint_name == rule, overrides
        # psql shows the rule (CHECK constraints) or the field by name (the insert-rules trigger, which
        # also carries the rule in the error's constraint field).
        assert rule in str(err.value) or (diag.column_name and diag.column_name in str(err.value)), overrides
        assert orders_left(postgresql) == 0


def test_missing_field_names_the_column(postgresql, account):
    for column in ("qty", "side", "pair", "intent_id", "exchange_account_id"):
        with pytest.raises(psycopg.errors.NotNullViolation) as err:
            insert(postgresql, account, **{column: None})
        assert err.value.diag.column_name == column and column in str(err.value)
        assert orders_left(postgresql) == 0
    # A price is required of a limit order only (a market order has none): its rule names it.
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        insert(postgresql, account, price=None)
    assert err.value.diag.constraint_name == "limit_order_must_have_price"
    assert orders_left(postgresql) == 0


def test_unknown_account_names_the_rule(postgresql, account):
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as err:
        insert(postgresql, uuid.uuid4())
    assert err.value.diag.constraint_name == "exchange_account_must_exist"
    assert orders_left(postgresql) == 0


def test_wrong_types_are_refused_before_any_rule(postgresql, account):
    for column, value in (("price", "abc"), ("qty", "1,5"), ("intent_id", "not-a-uuid"), ("post_only", "maybe")):
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as err:
            insert(postgresql, account, **{column: value})
        assert value in str(err.value)
        postgresql.rollback()
    assert orders_left(postgresql) == 0


def test_second_open_order_for_one_intent_across_accounts_is_refused(postgresql, account):
    other = postgresql.execute("INSERT INTO lth_pvr.exchange_accounts (subaccount_id) VALUES ('78') "
                               "RETURNING exchange_account_id").fetchone()[0]
    intent = uuid.uuid4()
    insert(postgresql, account, intent_id=intent)
    with pytest.raises(psycopg.errors.UniqueViolation) as err:
        insert(postgresql, other, intent_id=intent)
    assert err.value.diag.constraint_name == "one_open_order_per_intent"


def test_an_order_placed_elsewhere_cannot_reuse_a_valr_id(postgresql, account):
    insert(postgresql, account, status="submitted", ext_order_id="valr-1")
    with pytest.raises(psycopg.errors.UniqueViolation) as err:
        insert(postgresql, account, status="submitted", ext_order_id="valr-1")
    assert err.value.diag.constraint_name == "ext_order_id_must_be_unique"
