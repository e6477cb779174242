"""Fills: idempotent on trade id, derived quantities, overfills flagged, never a status change."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from tests.support.sql import (
    at, claim, events, fill, lease, make_account, make_order, order, place, rows, status_payload,
    submitted_order, trade_payload, update,
)


def test_partial_fills_keep_submitted_and_sum(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="0.003")
    assert fill(postgresql, account, trade_payload("t1", "valr-1", "0.001", "1000000"), now=at(seconds=5))["outcome"] == "recorded"
    assert fill(postgresql, account, trade_payload("t2", "valr-1", "0.001", "1000300"), now=at(seconds=6))["outcome"] == "recorded"
    o = order(postgresql, order_id)
    assert o["status"] == "submitted"
    assert o["filled_qty"] == Decimal("0.002")
    assert o["avg_price"] == Decimal("1000150")
    assert o["updated_at"] == at(seconds=6)


def test_duplicate_fill_changes_nothing_and_says_so(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    fill(postgresql, account, trade_payload("t1", "valr-1", "0.0005"), now=at(seconds=5))
    again = fill(postgresql, account, trade_payload("t1", "valr-1", "0.0005"), source="poll", now=at(seconds=9))
    assert (again["exchange_order_id"], again["trade_id"], again["outcome"]) == (order_id, "t1", "duplicate")
    o = order(postgresql, order_id)
    assert o["filled_qty"] == Decimal("0.0005") and o["updated_at"] == at(seconds=5)
    assert rows(postgresql, "SELECT count(*) AS n FROM lth_pvr.order_fills")[0]["n"] == 1
    assert events(postgresql, order_id)[-1]["outcome"] == "duplicate"


def test_overfill_is_recorded_but_flagged(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="0.001")
    fill(postgresql, account, trade_payload("t1", "valr-1", "0.001"))
    over = fill(postgresql, account, trade_payload("t2", "valr-1", "0.0005"))
    assert over["outcome"] == "overfill"
    assert order(postgresql, order_id)["filled_qty"] == Decimal("0.0015")  # real money: kept
    assert "exceeds" in events(postgresql, order_id)[-1]["detail"]
    alerts = rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'overfilled_orders'", (at(seconds=1),))
    assert len(alerts) == 1 and str(order_id) in alerts[0]["detail"]


def test_cancelled_with_fills_keeps_them_and_late_fill_is_kept(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="0.003")
    fill(postgresql, account, trade_payload("t1", "valr-1", "0.001"))
    update(postgresql, account, status_payload("valr-1", "Partially Filled and Cancelled Due To Slippage",
                                                original="0.003", remaining="0.002"),
           now=at(seconds=10))
    assert order(postgresql, order_id)["status"] == "cancelled"
    late = fill(postgresql, account, trade_payload("t2", "valr-1", "0.001"), now=at(seconds=11))
    assert late["outcome"] == "recorded"
    o = order(postgresql, order_id)
    assert (o["status"], o["filled_qty"]) == ("cancelled", Decimal("0.002"))


def test_fill_racing_the_placement_answer_is_matched_by_customer_order_id(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    intent = order(postgresql, order_id)["intent_id"]
    lease(postgresql, "w1")
    claim(postgresql, "w1")
    assert fill(postgresql, account, trade_payload("t1", "valr-7", "0.001", intent=intent))["outcome"] == "recorded"
    o = order(postgresql, order_id)
    assert (o["status"], o["ext_order_id"], o["filled_qty"]) == ("placing", "valr-7", Decimal("0.001"))
    assert place(postgresql, order_id, "valr-7")["status"] == "submitted"


def test_trade_without_order_id_is_unmatched(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    intent = order(postgresql, order_id)["intent_id"]
    result = fill(postgresql, account, trade_payload("t1", None, "0.001", intent=intent))
    assert (result["exchange_order_id"], result["outcome"]) == (None, "unmatched")
    assert order(postgresql, order_id)["filled_qty"] == 0


def test_trade_of_someone_else_is_not_ours(postgresql):
    account = make_account(postgresql)
    assert fill(postgresql, account, trade_payload("t1", "nobody", "0.001"))["outcome"] == "not_ours"
    assert events(postgresql)[-1]["outcome"] == "not_ours"


@pytest.mark.parametrize("payload", [
    {"id": "t1", "orderId": "valr-1", "price": "1000000", "quantity": "-0.001"},
    {"id": "t1", "orderId": "valr-1", "price": "1000000", "quantity": "NaN"},
    {"id": "t1", "orderId": "valr-1", "price": "abc", "quantity": "0.001"},
    {"id": "t1", "orderId": "valr-1", "price": None, "quantity": 0},
    {"orderId": "valr-1", "price": "1000000", "quantity": "0.001"},
    "a string",
])
def test_malformed_trades_are_logged_never_raised(postgresql, payload):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    assert fill(postgresql, account, payload)["outcome"] == "malformed"
    assert order(postgresql, order_id)["filled_qty"] == 0
    assert events(postgresql)[-1]["outcome"] == "malformed"


def test_numbers_may_arrive_as_json_numbers(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    payload = {"id": "t1", "orderId": "valr-1", "price": 1000000, "quantity": 0.0004, "tradedAt": 1741003200000,
               "sequenceId": 123456789012345678901234567890}
    assert fill(postgresql, account, payload)["outcome"] == "recorded"
    stored = rows(postgresql, "SELECT * FROM lth_pvr.order_fills")[0]
    assert stored["qty"] == Decimal("0.0004") and stored["sequence_id"] == Decimal("123456789012345678901234567890")
    assert order(postgresql, order_id)["filled_qty"] == Decimal("0.0004")


def test_fill_source_must_be_a_fill_source(postgresql):
    account = make_account(postgresql)
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        fill(postgresql, account, trade_payload("t1", "valr-1", "0.001"), source="operator")


def test_a_fill_never_changes_status(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="0.001")
    fill(postgresql, account, trade_payload("t1", "valr-1", "0.001"))
    assert order(postgresql, order_id)["status"] == "submitted"  # Filled arrives as a status update
    assert update(postgresql, account, status_payload("valr-1", "Filled", remaining="0"))["outcome"] == "applied"
