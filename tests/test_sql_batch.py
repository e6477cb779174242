"""record_batch: the frames of one WebSocket read, in order, one transaction, never aborted by one bad frame."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.support.sql import (
    at, batch, claim, events, lease, listener, make_account, make_order, one, open_order_item, open_session,
    order, received, status_payload, submitted_order, trade_payload, update,
)


def test_frames_apply_in_order_and_count(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="0.002")
    session = open_session(postgresql, account)
    frames = [
        {"type": "AUTHENTICATED"},
        {"type": "BALANCE_UPDATE", "data": {"currency": {"symbol": "BTC"}, "available": "1"}},
        {"type": "NEW_ACCOUNT_TRADE", "data": trade_payload("t1", "valr-1", "0.001")},
        {"type": "ORDER_STATUS_UPDATE", "data": status_payload("valr-1", "Partially Filled", original="0.002",
                                                               remaining="0.001")},
        {"type": "NEW_ACCOUNT_TRADE", "data": trade_payload("t2", "valr-1", "0.001")},
        {"type": "ORDER_STATUS_UPDATE", "data": status_payload("valr-1", "Filled", original="0.002", remaining="0")},
        {"type": "ORDER_STATUS_UPDATE", "data": status_payload("valr-1", "Placed", original="0.002")},  # late
        {"type": "PONG"},
    ]
    result = batch(postgresql, session, frames, at(seconds=3))
    assert [(r["frame_index"], r["outcome"]) for r in result] == [
        (0, "ignored"), (1, "malformed"), (2, "recorded"), (3, "unchanged"), (4, "recorded"), (5, "applied"),
        (6, "illegal_transition"), (7, "ignored")]
    assert result[5]["new_status"] == "filled" and result[5]["exchange_order_id"] == order_id
    o = order(postgresql, order_id)
    assert (o["status"], o["filled_qty"], o["requires_polling"]) == ("filled", Decimal("0.002"), False)
    assert one(postgresql, "SELECT events FROM lth_pvr.ws_sessions WHERE session_id = %s", (session,))["events"] == 8
    kinds = [e["kind"] for e in events(postgresql)]
    assert "BALANCE_UPDATE" not in kinds and "AUTHENTICATED" not in kinds and "PONG" not in kinds


def test_one_bad_frame_does_not_abort_the_batch(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    session = open_session(postgresql, account)
    frames = [
        "garbage", 17, None, {"no": "type"}, {"type": ["list"]},
        {"type": "ORDER_STATUS_UPDATE", "data": "not an object"},
        {"type": "NEW_ACCOUNT_TRADE", "data": {"id": "t9", "orderId": "valr-1", "price": "NaN", "quantity": "1"}},
        {"type": "NEW_ACCOUNT_TRADE"},
        {"type": "OPEN_ORDERS_UPDATE", "data": {"not": "a list"}},
        {"type": "SOMETHING_NEW", "data": {}},
        {"type": "ORDER_STATUS_UPDATE", "data": status_payload("valr-1", "Cancelled")},
    ]
    result = batch(postgresql, session, frames)
    assert [r["outcome"] for r in result] == [
        "malformed", "malformed", "malformed", "malformed", "malformed", "malformed", "malformed", "malformed",
        "ignored", "applied"]  # OPEN_ORDERS_UPDATE without a list: logged, no row
    assert order(postgresql, order_id)["status"] == "cancelled"


def test_an_unexpected_error_is_isolated_to_its_frame(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    session = open_session(postgresql, account)
    # Sabotage one path: a fill for an order whose quantity rule we break on purpose (a CHECK fails).
    postgresql.execute("ALTER TABLE lth_pvr.order_fills ADD CONSTRAINT test_no_big_fills CHECK (qty < 1)")
    frames = [
        {"type": "NEW_ACCOUNT_TRADE", "data": trade_payload("t1", "valr-1", "5")},
        {"type": "ORDER_STATUS_UPDATE", "data": status_payload("valr-1", "Cancelled")},
    ]
    result = batch(postgresql, session, frames)
    assert [r["outcome"] for r in result] == ["error", "applied"]
    assert order(postgresql, order_id)["status"] == "cancelled"
    assert any(e["outcome"] == "error" and "test_no_big_fills" in e["detail"] for e in events(postgresql))


def test_batch_notifies_once_with_the_last_id(postgresql, db_url):
    account = make_account(postgresql)
    submitted_order(postgresql, account, ext="valr-1")
    session = open_session(postgresql, account)
    postgresql.execute("UPDATE lth_pvr.settings SET value = 1 WHERE name = 'notify_recorded'")
    postgresql.commit()
    with listener(db_url, "lth_pvr_recorded") as listen:
        batch(postgresql, session, [
            {"type": "ORDER_STATUS_UPDATE", "data": status_payload("valr-1", "Placed")},
            {"type": "NEW_ACCOUNT_TRADE", "data": trade_payload("trade-42", "valr-1", "0.0001")},
        ])
        postgresql.commit()
        got = received(listen, expect=1)
    assert len(got) == 1
    assert json.loads(got[0][1]) == {"session": session, "frames": 2, "last": "trade-42"}


def test_batch_sends_no_notification_unless_asked_and_counts_its_read(postgresql, db_url):
    """Shipped: notify_recorded 0 — a recording commit sends nothing (PostgreSQL's NOTIFY lock serializes
    such commits), and the session counts the read."""
    account = make_account(postgresql)
    submitted_order(postgresql, account, ext="valr-1")
    session = open_session(postgresql, account)
    postgresql.commit()
    with listener(db_url, "lth_pvr_recorded") as listen:
        for _ in range(2):
            batch(postgresql, session, [{"type": "ORDER_STATUS_UPDATE", "data": status_payload("valr-1", "Placed")}])
            postgresql.commit()
        postgresql.execute("SELECT pg_notify('lth_pvr_recorded', 'marker')")  # what was sent before it arrives first
        postgresql.commit()
        got = received(listen, expect=1)
    assert [payload for _, payload in got] == ["marker"]
    assert postgresql.execute("SELECT events, reads FROM lth_pvr.ws_sessions WHERE session_id = %s",
                              (session,)).fetchone() == (2, 2)


def test_open_orders_update_reports_missing_orders(postgresql):
    account = make_account(postgresql)
    listed = submitted_order(postgresql, account, ext="valr-1")
    missing = submitted_order(postgresql, account, ext="valr-2")
    session = open_session(postgresql, account, at(seconds=10))
    item = open_order_item(postgresql, listed, "valr-1")
    result = batch(postgresql, session, [{"type": "OPEN_ORDERS_UPDATE", "data": [item]}], at(seconds=10))
    assert [(r["exchange_order_id"], r["outcome"]) for r in result] == [(listed, "unchanged"), (missing, "missing")]
    assert order(postgresql, listed)["reconcile_due_at"] is None  # listed: reconciled
    o = order(postgresql, missing)
    assert o["status"] == "submitted"  # absence is never proof
    assert o["reconcile_due_at"] is not None and o["poll_claimed_at"] == at(seconds=10)


def test_open_orders_list_does_not_call_a_just_accepted_order_missing(postgresql):
    # VALR's 202 precedes "Placed": a list read a moment after acceptance may not show the order yet.
    account = make_account(postgresql)
    listed = submitted_order(postgresql, account, ext="valr-1")
    just_accepted = submitted_order(postgresql, account, ext="valr-2", now=at(seconds=9))
    session = open_session(postgresql, account, at(seconds=10))
    item = open_order_item(postgresql, listed, "valr-1")
    result = batch(postgresql, session, [{"type": "OPEN_ORDERS_UPDATE", "data": [item]}], at(seconds=10))
    assert [(r["exchange_order_id"], r["outcome"]) for r in result] == [(listed, "unchanged")]
    assert just_accepted


def test_an_order_the_exchange_confirmed_gets_no_grace(postgresql):
    # A new owner's first list after a takeover: VALR already said Placed, then the order filled
    # while nobody watched; absent from the list a moment later, it is missing at once.
    account = make_account(postgresql)
    confirmed = submitted_order(postgresql, account, ext="valr-1", now=at(seconds=8))
    update(postgresql, account, status_payload("valr-1", "Placed"), now=at(seconds=8, milliseconds=50))
    session = open_session(postgresql, account, at(seconds=10))
    result = batch(postgresql, session, [{"type": "OPEN_ORDERS_UPDATE", "data": []}], at(seconds=10))
    assert [(r["exchange_order_id"], r["outcome"]) for r in result] == [(confirmed, "missing")]


def test_order_processed_failure_fails_the_order(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    intent = order(postgresql, order_id)["intent_id"]
    lease(postgresql, "w1")
    claim(postgresql, "w1")
    session = open_session(postgresql, account)
    frame = {"type": "ORDER_PROCESSED", "data": {"orderId": "valr-8", "success": False,
                                                "failureReason": "Post only cancelled as it would have matched",
                                                "customerOrderId": str(intent)}}
    assert batch(postgresql, session, [frame])[0]["outcome"] == "applied"
    o = order(postgresql, order_id)
    assert (o["status"], o["failed_reason"]) == ("failed", "Post only cancelled as it would have matched")
