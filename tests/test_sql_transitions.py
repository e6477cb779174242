"""Order status transitions: placement, VALR's updates (monotonic, mapped in SQL), insert rules."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.sql import (
    T0, at, claim, events, lease, listener, make_account, make_order, one, order, place, received,
    rows, status_payload, submitted_order, update, valr_pairs,
)


def test_placement_moves_pending_to_placing_to_submitted(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claimed = claim(postgresql, "w1", at(seconds=1))
    assert [c["exchange_order_id"] for c in claimed] == [order_id]
    assert order(postgresql, order_id)["status"] == "placing"
    assert order(postgresql, order_id)["claimed_by"] == "w1"

    assert place(postgresql, order_id, "valr-1", now=at(seconds=2)) == {"status": "submitted", "changed": True}
    o = order(postgresql, order_id)
    assert (o["ext_order_id"], o["submitted_at"], o["requires_polling"]) == ("valr-1", at(seconds=2), True)
    # No authenticated session watched it: one REST reconciliation is owed.
    assert o["ws_monitored_at"] is None and o["reconcile_due_at"] == at(seconds=2)


def test_placement_with_an_open_session_is_ws_monitored(postgresql):
    account = make_account(postgresql)
    session = one(postgresql, "SELECT lth_pvr.session_open('w1', %s, %s) AS id", (account, T0))["id"]
    rows(postgresql, "SELECT * FROM lth_pvr.session_authenticated(%s, %s)", (session, T0))
    order_id = submitted_order(postgresql, account, now=at(seconds=5))
    o = order(postgresql, order_id)
    assert o["ws_monitored_at"] == at(seconds=5) and o["reconcile_due_at"] is None


def test_placement_refused_by_valr_fails_with_its_reason(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1")
    assert place(postgresql, order_id, None, "Insufficient Balance") == {"status": "failed", "changed": True}
    o = order(postgresql, order_id)
    assert (o["status"], o["failed_reason"], o["requires_polling"]) == ("failed", "Insufficient Balance", False)


def test_placement_needs_an_id_or_a_reason(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        place(postgresql, order_id, None, "None")  # "None" means no reason


def test_late_placed_after_filled_is_ignored_and_logged(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    filled = update(postgresql, account, status_payload("valr-1", "Filled", remaining="0"), now=at(seconds=10))
    assert (filled["old_status"], filled["new_status"], filled["outcome"]) == ("submitted", "filled", "applied")
    assert order(postgresql, order_id)["requires_polling"] is False

    late = update(postgresql, account, status_payload("valr-1", "Placed"), now=at(seconds=11))
    assert (late["new_status"], late["outcome"]) == ("filled", "illegal_transition")
    o = order(postgresql, order_id)
    assert o["status"] == "filled" and o["updated_at"] == at(seconds=10)
    assert events(postgresql, order_id)[-1]["outcome"] == "illegal_transition"

    again = update(postgresql, account, status_payload("valr-1", "Filled", remaining="0"), now=at(seconds=12))
    assert again["outcome"] == "unchanged"


def test_submitted_repeat_refreshes_but_does_not_move_updated_at(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    before = order(postgresql, order_id)
    result = update(postgresql, account, status_payload("valr-1", "Partially Filled", original="0.002"),
                    now=at(minutes=5))
    assert result["outcome"] == "unchanged"
    o = order(postgresql, order_id)
    assert o["updated_at"] == before["updated_at"]
    assert o["exchange_confirmed_at"] == at(minutes=5)
    assert str(o["original_qty"]) == "0.002"
    assert o["raw"]["valr"]["orderStatusType"] == "Partially Filled"
    assert o["ws_monitored_at"] == at(minutes=5)  # an event over the socket: it is watched


def test_event_before_placement_answer_is_matched_by_customer_order_id(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    intent = order(postgresql, order_id)["intent_id"]
    lease(postgresql, "w1")
    claim(postgresql, "w1")
    result = update(postgresql, account, status_payload("valr-9", "Filled", intent=intent, remaining="0"),
                    now=at(seconds=1))
    assert (result["exchange_order_id"], result["outcome"], result["new_status"]) == (order_id, "applied", "filled")
    o = order(postgresql, order_id)
    assert (o["ext_order_id"], o["submitted_at"]) == ("valr-9", at(seconds=1))

    # The placement answer arrives afterwards: the order keeps what VALR's event said.
    assert place(postgresql, order_id, "valr-9", now=at(seconds=2)) == {"status": "filled", "changed": False}
    assert order(postgresql, order_id)["status"] == "filled"


def test_unknown_status_is_logged_and_ignored(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    result = update(postgresql, account, status_payload("valr-1", "Teleported"))
    assert (result["outcome"], result["new_status"]) == ("unknown_status", "submitted")
    assert order(postgresql, order_id)["status"] == "submitted"
    assert "Teleported" in events(postgresql, order_id)[-1]["detail"]


def test_events_for_orders_that_are_not_ours_are_logged(postgresql):
    account = make_account(postgresql)
    result = update(postgresql, account, status_payload("someone-else", "Placed", intent=uuid.uuid4()))
    assert (result["exchange_order_id"], result["outcome"]) == (None, "not_ours")
    logged = events(postgresql)
    assert len(logged) == 1 and logged[0]["outcome"] == "not_ours" and logged[0]["exchange_account_id"] == account


def test_an_order_of_another_account_is_not_ours(postgresql):
    mine, other = make_account(postgresql), make_account(postgresql)
    order_id = submitted_order(postgresql, mine, ext="valr-1")
    assert update(postgresql, other, status_payload("valr-1", "Cancelled"))["outcome"] == "not_ours"
    assert order(postgresql, order_id)["status"] == "submitted"


def test_open_orders_item_shape_is_understood(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    intent = order(postgresql, order_id)["intent_id"]
    lease(postgresql, "w1")
    claim(postgresql, "w1")
    item = {"orderId": "valr-3", "side": "buy", "quantity": "0.001", "price": "1000000", "currencyPair": "BTCZAR",
            "createdAt": "2025-03-03T12:00:00Z", "originalQuantity": "0.001", "filledPercentage": "0.00",
            "customerOrderId": str(intent), "type": "limit", "status": "Placed",
            "updatedAt": "2025-03-03T12:00:00.5Z", "timeInForce": "GTC"}
    result = update(postgresql, account, item, source="poll")
    assert (result["outcome"], result["new_status"]) == ("applied", "submitted")
    assert events(postgresql, order_id)[-1]["kind"] == "open_order"


HOSTILE_PAYLOADS = [
    None, 42, "text", [], [1, 2],
    {},                                                            # no ids at all
    {"orderId": {"nested": 1}, "orderStatusType": "Filled"},       # wrong types
    {"orderId": "valr-1", "orderStatusType": 7},                   # status not a string
    {"orderId": "valr-1", "orderStatusType": "Filled", "originalQuantity": "NaN"},
    {"orderId": "valr-1", "orderStatusType": "Filled", "originalQuantity": "-1"},
    {"orderId": "valr-1", "orderStatusType": "Placed", "orderUpdatedAt": "2025-02-30T00:00:00Z"},
    {"orderId": "valr-1", "orderStatusType": "Placed", "originalQuantity": "1e999999"},
    {"customerOrderId": "not-a-uuid", "orderStatusType": "Placed"},
]


def test_hostile_payloads_are_logged_never_raised(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    outcomes = [update(postgresql, account, payload)["outcome"] for payload in HOSTILE_PAYLOADS]
    assert outcomes == ["malformed"] * 5 + ["not_ours", "not_ours", "unknown_status", "malformed", "malformed",
                                             "unchanged", "malformed", "not_ours"]
    assert order(postgresql, order_id)["status"] == "submitted"
    assert len(events(postgresql)) >= len(HOSTILE_PAYLOADS)


def test_status_never_goes_back_even_from_psql(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account)
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        postgresql.execute("UPDATE lth_pvr.exchange_orders SET status = 'pending' WHERE exchange_order_id = %s",
                           (order_id,))
    assert caught.value.diag.constraint_name == "status_transition_must_be_legal"


@pytest.mark.parametrize("columns, values, rule", [
    ("status", "'placing'", "order_must_be_inserted_pending_or_submitted"),
    ("status", "'filled'", "order_must_be_inserted_pending_or_submitted"),
    ("status", "'submitted'", "submitted_order_must_have_ext_order_id"),
    ("qty", "0.000000001", "qty_must_fit_pair_precision"),
    ("price", "1000000.5", "price_must_fit_pair_tick_size"),
])
def test_insert_rules_name_the_rule(postgresql, columns, values, rule):
    account = make_account(postgresql)
    valr_pairs(postgresql, "BTCZAR")
    defaults = {"status": "'pending'", "qty": "0.001", "price": "1000000"}
    defaults[columns] = values
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        postgresql.execute(
            f"""INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty, status)
                VALUES (%s, gen_random_uuid(), 'BTCZAR', 'BUY', {defaults['price']}, {defaults['qty']},
                        {defaults['status']})""", (account,))
    assert caught.value.diag.constraint_name == rule


def test_unknown_pair_has_no_precision_rule(postgresql):
    valr_pairs(postgresql, "BTCZAR")  # a fresh install knows no pair until the first refresh
    account = make_account(postgresql)
    with pytest.raises(psycopg.errors.CheckViolation):  # a known pair's precision is checked
        make_order(postgresql, account, qty="0.123456789123", price="0.0001")
    postgresql.rollback()  # the refresh too: a never-refreshed table accepts an unknown pair (with a warning row)
    account = make_account(postgresql)
    order_id = make_order(postgresql, account, pair="NEWCOINZAR", qty="0.123456789123", price="0.0001")
    kept = order(postgresql, order_id)
    assert (kept["qty"], kept["price"]) == (Decimal("0.123456789123"), Decimal("0.0001"))  # stored as given


def test_inserted_submitted_order_owes_a_reconciliation_and_notifies(postgresql, db_url):
    account = make_account(postgresql)
    postgresql.commit()
    with listener(db_url, "lth_pvr_submitted", "lth_pvr_pending") as listen:
        order_id = make_order(postgresql, account, status="submitted", ext_order_id="valr-ext")
        pending_id = make_order(postgresql, account)
        postgresql.commit()
        got = received(listen, expect=2)
    o = order(postgresql, order_id)
    assert o["submitted_at"] is not None and o["reconcile_due_at"] is not None
    assert ("lth_pvr_submitted", str(account)) in got and ("lth_pvr_pending", str(account)) in got
    assert pending_id


def test_becoming_submitted_notifies_the_worker(postgresql, db_url):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1")
    postgresql.commit()
    with listener(db_url, "lth_pvr_submitted") as listen:
        place(postgresql, order_id, "valr-1")
        postgresql.commit()
        assert received(listen, expect=1) == [("lth_pvr_submitted", str(account))]


def test_raw_keeps_valr_payload_under_valr_key(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET raw = raw || %s WHERE exchange_order_id = %s",
                       (Jsonb({"strategy": "dca"}), order_id))
    update(postgresql, account, status_payload("valr-1", "Cancelled"))
    raw = order(postgresql, order_id)["raw"]
    assert raw["strategy"] == "dca" and raw["valr"]["orderStatusType"] == "Cancelled"


def test_another_systems_order_with_our_customer_order_id_is_not_ours(postgresql):
    # customerOrderId is unique among OPEN orders only: another system may hold an open order with it,
    # created before we claimed ours (our POST will then be refused as a duplicate).
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    intent = order(postgresql, order_id)["intent_id"]
    foreign = status_payload("valr-foreign", "Placed", intent=intent)
    foreign["orderCreatedAt"] = "2025-03-03T11:00:00.000Z"
    assert update(postgresql, account, foreign)["outcome"] == "not_ours"          # ours still pending
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    assert update(postgresql, account, foreign, now=at(seconds=1))["outcome"] == "not_ours"  # created before our claim
    refused = status_payload("valr-ours", "Failed", intent=intent, reason="Duplicate customerOrderId")
    refused["orderCreatedAt"] = "2025-03-03T12:00:00.500Z"
    result = update(postgresql, account, refused, now=at(seconds=2))
    assert (result["exchange_order_id"], result["new_status"]) == (order_id, "failed")
    assert order(postgresql, order_id)["failed_reason"] == "Duplicate customerOrderId"


def test_customer_order_id_match_is_rechecked_after_the_row_lock(postgresql, db_url):
    # A foreign order's item is matched by customerOrderId while our placement answer is being
    # recorded; once the lock is ours, the order has another VALR id: the item is not ours.
    import threading

    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    intent = order(postgresql, order_id)["intent_id"]
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    postgresql.commit()
    foreign = status_payload("valr-foreign", "Placed", intent=intent)
    foreign["orderCreatedAt"] = "2025-03-03T12:00:00.000Z"
    result: dict = {}
    with psycopg.connect(db_url) as placing, psycopg.connect(db_url) as reading:
        placing.execute("SELECT * FROM lth_pvr.record_placement(%s, 'valr-ours', NULL, NULL, %s)",
                        (order_id, at(seconds=1)))          # row locked, not committed

        def read() -> None:
            result.update(one(reading, "SELECT * FROM lth_pvr.record_order_update(%s, 'ws', %s, %s)",
                              (account, Jsonb(foreign), at(seconds=1))))
            reading.commit()

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive()  # waiting for the row lock
        placing.commit()
        thread.join(5)
    assert result["outcome"] == "not_ours"
    o = order(postgresql, order_id)
    assert (o["ext_order_id"], o["status"]) == ("valr-ours", "submitted")
    assert "valr" not in o["raw"]


def test_same_customer_order_id_with_other_terms_is_another_systems_order(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account, price="1200000")
    intent = order(postgresql, order_id)["intent_id"]
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    foreign = status_payload("valr-foreign", "Placed", intent=intent)   # originalPrice 1000000, created at T0
    assert update(postgresql, account, foreign)["outcome"] == "not_ours"
    ours = dict(foreign, orderId="valr-ours", originalPrice="1200000")
    assert update(postgresql, account, ours)["outcome"] == "applied"
