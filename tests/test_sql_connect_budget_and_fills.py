"""VALR's connection budget is shared by every worker on the key; fills missed after an order finished
are fetched again until the database holds what VALR says was executed."""

from __future__ import annotations

from tests.support.sql import T0, at, fill, make_account, rows, status_payload, submitted_order, \
    trade_payload, update


def open_slot(conn, worker, account, per_minute, now) -> dict:
    return rows(conn, "SELECT * FROM lth_pvr.session_open_within_budget(%s, %s, %s, %s)",
                (worker, account, per_minute, now))[0]


def test_connection_budget_is_shared_by_workers(postgresql):
    account = make_account(postgresql)
    # Two workers, three connections a minute between them.
    assert open_slot(postgresql, "w1", account, 3, T0)["session_id"] is not None
    assert open_slot(postgresql, "w2", account, 3, at(seconds=10))["session_id"] is not None
    assert open_slot(postgresql, "w1", account, 3, at(seconds=20))["session_id"] is not None
    refused = open_slot(postgresql, "w2", account, 3, at(seconds=30))
    assert refused["session_id"] is None
    assert float(refused["wait_seconds"]) == 30.0  # the T0 connection leaves the window at 60 s
    assert open_slot(postgresql, "w2", account, 3, at(seconds=61))["session_id"] is not None
    assert postgresql.execute("SELECT count(*) FROM lth_pvr.ws_sessions").fetchone()[0] == 4


def claim_fills(conn, now) -> list:
    return [r["exchange_order_id"] for r in rows(
        conn, "SELECT * FROM lth_pvr.claim_missing_fills(100, 24, %s)", (now,))]


def test_a_filled_order_missing_a_fill_is_handed_out_until_the_fill_arrives(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="0.001")
    fill(postgresql, account, trade_payload("t-1", "valr-1", "0.0004"), now=at(seconds=1))
    # VALR says Filled (0.001 executed); the second trade's event was lost.
    update(postgresql, account, status_payload("valr-1", "Filled", remaining="0"), now=at(seconds=2))
    # The subaccount has nothing open, so no lease: any worker takes it.
    assert claim_fills(postgresql, at(seconds=3)) == [order_id]
    assert claim_fills(postgresql, at(seconds=60)) == []       # claimed: spaced out
    assert claim_fills(postgresql, at(seconds=200)) == [order_id]  # retried after 2 minutes
    fill(postgresql, account, trade_payload("t-2", "valr-1", "0.0006"), source="poll", now=at(seconds=201))
    assert claim_fills(postgresql, at(seconds=400)) == []      # complete: drops out
    assert claim_fills(postgresql, at(seconds=200 + 25 * 3600)) == []  # and old orders are not rescanned


def test_a_cancelled_order_with_all_its_fills_is_not_handed_out(postgresql):
    account = make_account(postgresql)
    submitted_order(postgresql, account, ext="valr-2", qty="0.001")
    fill(postgresql, account, trade_payload("t-3", "valr-2", "0.0004"), now=at(seconds=1))
    update(postgresql, account, status_payload("valr-2", "Cancelled", remaining="0.0006"), now=at(seconds=2))
    assert claim_fills(postgresql, at(seconds=3)) == []
