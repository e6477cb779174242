"""Hostile payloads against the SQL record functions (record_batch, record_order_update, record_fill):
whatever VALR — or something pretending to be VALR — sends, the call does not raise, no row is
corrupted (statuses stay legal and monotonic, filled_qty equals the sum of the fills and is >= 0,
existing fills are untouched), and what was refused is logged in order_events and counted.

Each example runs in a transaction rolled back afterwards, over the same committed orders.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from tests.support.sql import T0, make_account, one, rows, status_payload, submitted_order, trade_payload

LEGAL = {"pending", "placing", "submitted", "filled", "cancelled", "failed"}
TERMINAL = {"filled", "cancelled", "failed"}
# Outcomes that mean "refused or not ours": each must leave a row in the event log.
LOGGED = {"malformed", "unknown_status", "not_ours", "unmatched", "illegal_transition", "error", "cancel_failed",
          "overfill"}
EXT_IDS = ["valr-open-1", "valr-open-2", "valr-filled-1"]

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

HOSTILE_STRINGS = [
    "NaN", "nan", "Infinity", "-Infinity", "-0.0001", "0", "-1", "1e999999", "1e-400", "0.000000000000000001",
    "99999999999999999999999999999999", "1,5", "0x10", " 0.0001 ", "",
    "' OR 1=1 --", "'; DROP TABLE lth_pvr.exchange_orders; --", "Robert'); DELETE FROM lth_pvr.order_fills;--",
    "$$; SELECT pg_sleep(10); $$", "\\x00", "%s %s %(x)s", "{}", "[]", "null",
    "Filled", "Cancelled", "Placed", "Partially Filled", "Failed", "Expired", "filled", "FILLED", "Failed ",
    "Partially Filled and Cancelled Due To Slippage", "Done", "None",
    "2025-13-45T99:99:99Z", "2025-03-03T12:00:00.000Z", "yesterday", "not-a-uuid",
    "00000000-0000-0000-0000-000000000000", *EXT_IDS, "x" * 5000,
]

# PostgreSQL's jsonb holds no NUL character and no NaN/Infinity number: those are the worker's
# problem before SQL (see test_hostile_frames.py); everything else a JSON document can hold is here.
safe_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
leaf = (st.none() | st.booleans() | st.integers(-10**30, 10**30)
        | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(HOSTILE_STRINGS) | safe_text)
json_value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(safe_text, inner, max_size=4), max_leaves=12)
numberish = st.sampled_from(HOSTILE_STRINGS) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.integers(-10**6, 10**6) | st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str) | json_value
order_ids = st.sampled_from(EXT_IDS + ["valr-unknown"]) | json_value
statuses = st.sampled_from(["Placed", "Partially Filled", "Filled", "Cancelled", "Expired", "Failed",
                            "Active", "Order Modified", "Done", "filled", ""]) | json_value

order_payload = st.fixed_dictionaries({}, optional={
    "orderId": order_ids, "customerOrderId": json_value, "orderStatusType": statuses, "status": statuses,
    "originalQuantity": numberish, "remainingQuantity": numberish, "orderUpdatedAt": json_value,
    "failedReason": json_value, "currencyPair": json_value,
})
trade = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["t-1", "t-existing", "", "' OR 1=1 --"]) | json_value, "orderId": order_ids,
    "price": numberish, "quantity": numberish, "fee": numberish, "feeCurrency": json_value,
    "tradedAt": json_value, "sequenceId": numberish, "customerOrderId": json_value,
})
frame_types = st.sampled_from(["ORDER_STATUS_UPDATE", "NEW_ACCOUNT_TRADE", "OPEN_ORDERS_UPDATE", "ORDER_PROCESSED",
                               "FAILED_CANCEL_ORDER", "BALANCE_UPDATE", "PONG", "UNKNOWN_EVENT",
                               "order_status_update", ""]) | json_value
frame = st.fixed_dictionaries({"type": frame_types}, optional={
    "data": order_payload | trade | st.lists(order_payload, max_size=3) | json_value,
}) | json_value


@pytest.fixture
def book(postgresql):
    """Two open orders and a filled one with one fill, committed; each example rolls back to this."""
    account = make_account(postgresql, "4242")
    open_ids = [submitted_order(postgresql, account, ext=ext, qty="0.002") for ext in EXT_IDS[:2]]
    filled = submitted_order(postgresql, account, ext="valr-filled-1", qty="0.001")
    rows(postgresql, "SELECT * FROM lth_pvr.record_fill(%s, 'ws', %s, %s)",
         (account, Jsonb(trade_payload("t-existing", "valr-filled-1", "0.001")), T0))
    rows(postgresql, "SELECT * FROM lth_pvr.record_order_update(%s, 'ws', %s, %s)",
         (account, Jsonb(status_payload("valr-filled-1", "Filled", original="0.001", remaining="0")), T0))
    session = one(postgresql, "SELECT lth_pvr.session_open('w1', %s, %s) AS id", (account, T0))["id"]
    postgresql.commit()
    return {"conn": postgresql, "account": account, "orders": [*open_ids, filled], "session": session,
            "before": snapshot(postgresql)}


def snapshot(conn) -> dict:
    return {
        "orders": {r["exchange_order_id"]: r for r in rows(conn, "SELECT * FROM lth_pvr.exchange_orders")},
        "fills": {r["trade_id"]: r for r in rows(conn, "SELECT * FROM lth_pvr.order_fills")},
        "events": one(conn, "SELECT count(*) AS n FROM lth_pvr.order_events")["n"],
    }


def assert_nothing_corrupted(conn, before: dict) -> None:
    after = snapshot(conn)
    for order_id, old in before["orders"].items():
        new = after["orders"][order_id]
        assert new["status"] in LEGAL
        if old["status"] in TERMINAL:  # monotonic: a final status is never overwritten
            assert new["status"] == old["status"]
        elif new["status"] != old["status"]:
            assert one(conn, "SELECT lth_pvr.status_transition_is_legal(%s, %s) AS ok",
                       (old["status"], new["status"]))["ok"]
        assert new["filled_qty"] >= 0
        fills = sum((f["qty"] for f in after["fills"].values() if f["exchange_order_id"] == order_id), Decimal(0))
        assert new["filled_qty"] == fills
        assert new["ext_order_id"] == old["ext_order_id"] and new["qty"] == old["qty"]
    for trade_id, old in before["fills"].items():
        assert after["fills"][trade_id] == old, "an existing fill was changed"
    for fill in after["fills"].values():
        assert fill["qty"] > 0 and fill["price"] > 0
    assert set(after["orders"]) == set(before["orders"]), "an order appeared or vanished"


def logged_outcomes(conn, since_count: int) -> Counter:
    return Counter(r["outcome"] for r in rows(
        conn, "SELECT outcome FROM lth_pvr.order_events ORDER BY event_id OFFSET %s", (since_count,)))


def assert_refusals_logged(conn, before: dict, outcomes: list[str]) -> None:
    logged = logged_outcomes(conn, before["events"])
    for outcome, n in Counter(o for o in outcomes if o in LOGGED).items():
        assert logged[outcome] >= n, f"{n} x {outcome} returned, {logged[outcome]} logged"


@SETTINGS
@given(frames=st.lists(frame, max_size=8) | json_value)
def test_record_batch_survives_any_frames(book, frames):
    conn = book["conn"]
    try:
        result = rows(conn, "SELECT * FROM lth_pvr.record_batch(%s, %s, %s)", (book["session"], Jsonb(frames), T0))
        n = len(frames) if isinstance(frames, list) else 1
        assert one(conn, "SELECT events FROM lth_pvr.ws_sessions WHERE session_id = %s",
                   (book["session"],))["events"] == n
        assert all(r["outcome"] for r in result)
        assert_nothing_corrupted(conn, book["before"])
        assert_refusals_logged(conn, book["before"], [r["outcome"] for r in result])
    finally:
        conn.rollback()


@SETTINGS
@given(payload=order_payload | json_value, source=st.sampled_from(["ws", "poll", "placement"]))
def test_record_order_update_survives_any_payload(book, payload, source):
    conn = book["conn"]
    try:
        result = rows(conn, "SELECT * FROM lth_pvr.record_order_update(%s, %s, %s, %s)",
                      (book["account"], source, Jsonb(payload), T0))
        assert len(result) == 1 and result[0]["outcome"] in LOGGED | {"applied", "unchanged"}
        assert_nothing_corrupted(conn, book["before"])
        assert_refusals_logged(conn, book["before"], [result[0]["outcome"]])
    finally:
        conn.rollback()


@SETTINGS
@given(payload=trade | json_value, source=st.sampled_from(["ws", "poll", "placement"]))
def test_record_fill_survives_any_payload(book, payload, source):
    conn = book["conn"]
    try:
        result = rows(conn, "SELECT * FROM lth_pvr.record_fill(%s, %s, %s, %s)",
                      (book["account"], source, Jsonb(payload), T0))
        assert len(result) == 1 and result[0]["outcome"] in LOGGED | {"recorded", "duplicate"}
        if result[0]["outcome"] in ("recorded", "overfill"):  # only a well-formed trade of ours gets in
            assert isinstance(payload, dict) and payload.get("orderId") in EXT_IDS
        assert_nothing_corrupted(conn, book["before"])
        assert_refusals_logged(conn, book["before"], [result[0]["outcome"]])
    finally:
        conn.rollback()


def test_sql_looking_strings_are_stored_as_data(book):
    conn = book["conn"]
    evil = "'; DROP TABLE lth_pvr.exchange_orders; --"
    result = rows(conn, "SELECT * FROM lth_pvr.record_batch(%s, %s, %s)", (book["session"], Jsonb([
        {"type": "ORDER_STATUS_UPDATE", "data": {"orderId": evil, "orderStatusType": evil}},
        {"type": "NEW_ACCOUNT_TRADE", "data": {"id": evil, "orderId": "valr-open-1", "price": evil, "quantity": "1"}},
        {"type": evil, "data": {}},
    ]), T0))
    assert [r["outcome"] for r in result] == ["not_ours", "malformed", "ignored"]
    conn.commit()
    assert one(conn, "SELECT count(*) AS n FROM lth_pvr.exchange_orders")["n"] == 3
    # Kept verbatim as data in the log: the frame (its type included) is the event's payload; the
    # kind is a word of the closed vocabulary.
    logged = rows(conn, "SELECT kind, payload->>'type' AS type FROM lth_pvr.order_events WHERE payload->>'type' = %s",
                  (evil,))
    assert logged == [{"kind": "unknown_frame", "type": evil}]


def test_one_megabyte_frame_is_recorded_and_logged(book):
    conn = book["conn"]
    big = {"type": "ORDER_STATUS_UPDATE", "data": {"orderId": "valr-open-1", "orderStatusType": "Placed",
                                                   "failedReason": "x" * 1_048_576}}
    result = rows(conn, "SELECT * FROM lth_pvr.record_batch(%s, %s, %s)", (book["session"], Jsonb([big]), T0))
    assert result[0]["outcome"] == "unchanged"
    assert_nothing_corrupted(conn, book["before"])
    conn.rollback()
