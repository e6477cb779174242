"""record_batch's fast path (record_frames: common frames recorded in memory, written set-based) leaves
exactly what the general path leaves — record_frame called frame by frame, as record_batch did before.

Each generated read is applied twice to the same committed orders, each time in a transaction that is
then rolled back: once through record_batch, once through record_frame per frame. The returned rows,
the order rows (every column), the fills and the event rows (in event_id order) must be equal."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from tests.support.sql import (
    T0, make_account, open_session, rows, scalar, status_payload, submitted_order, trade_payload, update,
)

NOW = T0 + timedelta(seconds=30)
OURS = ["valr-1", "valr-2", "valr-3"]          # submitted orders of the account
FINISHED = "valr-4"                             # a filled order of the account
ELSEWHERE = "valr-9"                            # another account's order
EXTS = OURS + [FINISHED, ELSEWHERE, "valr-unknown"]
STATUSES = ["Placed", "Partially Filled", "Filled", "Cancelled", "Failed", "Expired", "Bogus"]


def setup_orders(conn: psycopg.Connection) -> tuple:
    """Committed once per test: three submitted orders (one confirmed at NOW, one owing a
    reconciliation), a filled one, and another account's order. Returns (account, session)."""
    account = make_account(conn, "sub-a")
    for ext, qty in zip(OURS, ["0.003", "0.002", "0.01"]):
        submitted_order(conn, account, ext=ext, qty=qty)
    conn.execute("UPDATE lth_pvr.exchange_orders SET exchange_confirmed_at = %s, ws_monitored_at = %s "
                 "WHERE ext_order_id = 'valr-1'", (NOW, T0))
    conn.execute("UPDATE lth_pvr.exchange_orders SET reconcile_due_at = %s WHERE ext_order_id = 'valr-2'", (T0,))
    submitted_order(conn, account, ext=FINISHED, qty="0.001")
    update(conn, account, status_payload(FINISHED, "Filled"), now=T0)
    submitted_order(conn, make_account(conn, "sub-b"), ext=ELSEWHERE)
    conn.execute("SELECT * FROM lth_pvr.record_fill(%s, 'ws', %s, %s)",
                 (account, Jsonb(trade_payload("t-held", "valr-1", "0.0005")), T0))
    return account, open_session(conn, account, T0)


def intent_of(conn: psycopg.Connection, ext: str) -> str | None:
    return scalar(conn, "SELECT intent_id::text FROM lth_pvr.exchange_orders WHERE ext_order_id = %s", (ext,))


# -- generated reads --------------------------------------------------------------------------------
exts = st.sampled_from(EXTS)
trades = st.builds(
    lambda ext, tid, qty, price, fee: {"type": "NEW_ACCOUNT_TRADE", "data": {
        **trade_payload(tid, ext, qty, price), **({} if fee == "absent" else {"fee": fee})}},
    exts, st.sampled_from(["t1", "t2", "t3", "t4", "t-held", ""]),
    st.sampled_from(["0.001", "0.0005", "0.002", "0"]), st.sampled_from(["1000000", "999999.5", "abc"]),
    st.sampled_from(["0.0000001", "absent", None, "lots"]))
good_trades = st.builds(  # well-formed trades of our open orders: totals, duplicates and overfills
    lambda ext, tid, qty: {"type": "NEW_ACCOUNT_TRADE", "data": trade_payload(tid, ext, qty)},
    st.sampled_from(OURS), st.sampled_from(["t1", "t2", "t3", "t4", "t5", "t6", "t-held"]),
    st.sampled_from(["0.001", "0.0005", "0.002"]))
statuses = st.builds(
    lambda ext, status, original: {"type": "ORDER_STATUS_UPDATE", "data": status_payload(
        ext, status, original=original, remaining="0.001")},
    exts, st.sampled_from(STATUSES), st.sampled_from(["0.003", "0.0030", "0.002", "-1"]))
open_lists = st.lists(st.tuples(exts, st.sampled_from(["Placed", "Partially Filled", "Filled"]),
                                st.sampled_from(["0.003", "0.002", "0.01", "0.010"])), max_size=4).map(
    lambda items: {"type": "OPEN_ORDERS_UPDATE", "data": [
        {"orderId": ext, "side": "buy", "price": "1000000", "currencyPair": "BTCZAR", "originalQuantity": orig,
         "status": status, "updatedAt": "2025-03-03T12:00:05Z", "type": "limit"} for ext, status, orig in items]})
full_lists = st.permutations(OURS).map(lambda exts_: {"type": "OPEN_ORDERS_UPDATE", "data": [
    {"orderId": ext, "side": "buy", "price": "1000000", "currencyPair": "BTCZAR", "status": "Partially Filled",
     "updatedAt": "2025-03-03T12:00:05Z", "type": "limit"} for ext in exts_]})
BALANCE = {"currency": "BTC", "available": "1", "reserved": "0", "total": "1", "updatedAt": "2025-03-03T12:00:05Z"}
others = st.sampled_from([{"type": "BALANCE_UPDATE", "data": BALANCE}, {"type": "PONG"}, {"type": "FOO", "data": {}},
                          {"data": {"orderId": "valr-1"}}, {"type": "ORDER_PROCESSED", "data": {"orderId": "valr-2"}},
                          {"type": "NEW_ACCOUNT_TRADE", "data": "not an object"}])
frames = st.one_of(good_trades, good_trades, trades, statuses, statuses, full_lists, open_lists, others)


# -- the two paths ----------------------------------------------------------------------------------
def state(conn: psycopg.Connection) -> dict:
    return {
        "orders": rows(conn, "SELECT * FROM lth_pvr.exchange_orders ORDER BY ext_order_id"),
        "fills": rows(conn, "SELECT trade_id, exchange_order_id, price, qty, fee, fee_currency, traded_at, "
                            "sequence_id, source, recorded_at FROM lth_pvr.order_fills ORDER BY fill_id"),
        "events": rows(conn, "SELECT exchange_order_id, exchange_account_id, source, kind, outcome, old_status, "
                             "new_status, exchange_time, received_at, detail, payload "
                             "FROM lth_pvr.order_events ORDER BY event_id"),
    }


def through_batch(conn: psycopg.Connection, session: int, read: list) -> tuple[list, dict]:
    with conn.transaction(force_rollback=True):
        result = rows(conn, "SELECT * FROM lth_pvr.record_batch(%s, %s, %s)", (session, Jsonb(read), NOW))
        return result, state(conn)


def frame_by_frame(conn: psycopg.Connection, account, read: list) -> tuple[list, dict]:
    with conn.transaction(force_rollback=True):
        result = []
        for i, frame in enumerate(read):
            result += rows(conn, "SELECT * FROM lth_pvr.record_frame(%s, %s, %s, %s)", (account, i, Jsonb(frame), NOW))
        return result, state(conn)


def order_rows(result: list) -> list:
    return [r for r in result if r["frame_type"] not in LEDGER_FRAMES]


LEDGER_FRAMES = {"BALANCE_UPDATE", "NEW_ACCOUNT_HISTORY_RECORD", "NEW_PENDING_RECEIVE"}


def ready(conn: psycopg.Connection) -> tuple:
    if not scalar(conn, "SELECT count(*) FROM lth_pvr.ws_sessions"):
        setup_orders(conn)
    return (scalar(conn, "SELECT exchange_account_id FROM lth_pvr.exchange_accounts WHERE subaccount_id = 'sub-a'"),
            scalar(conn, "SELECT max(session_id) FROM lth_pvr.ws_sessions"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(read=st.lists(frames, min_size=1, max_size=12))
def test_fast_path_leaves_what_frame_by_frame_leaves(postgresql, read):
    account, session = ready(postgresql)
    fast_rows, fast_state = through_batch(postgresql, session, read)
    slow_rows, slow_state = frame_by_frame(postgresql, account, read)
    # The ledger's frames are record_ledger_frames' (tests/test_sql_ledger.py), not record_frame's.
    assert order_rows(fast_rows) == order_rows(slow_rows)
    assert fast_state["events"] == slow_state["events"]
    assert fast_state["fills"] == slow_state["fills"]
    assert fast_state["orders"] == slow_state["orders"]


def test_a_typical_read_is_recorded_by_the_fast_path(postgresql):
    """Trades, unchanged statuses and full lists of one order: every frame common, totals exact."""
    account, session = ready(postgresql)
    intent = intent_of(postgresql, "valr-3")
    read = []
    for i in range(5):
        read += [{"type": "NEW_ACCOUNT_TRADE", "data": trade_payload(f"f{i}", "valr-3", "0.001") | {"customerOrderId": intent}},
                 {"type": "ORDER_STATUS_UPDATE", "data": status_payload("valr-3", "Partially Filled", original="0.01")}]
    result, after = through_batch(postgresql, session, read)
    assert [r["outcome"] for r in result] == ["recorded", "unchanged"] * 5
    order = next(o for o in after["orders"] if o["ext_order_id"] == "valr-3")
    assert (str(order["filled_qty"]), order["updated_at"], order["exchange_confirmed_at"]) == ("0.005", NOW, NOW)
    assert [e["outcome"] for e in after["events"][-10:]] == ["recorded", "unchanged"] * 5


def test_a_trade_recorded_meanwhile_makes_the_set_based_write_raise(postgresql):
    """The guard behind the fast path's fills: a conflicting trade id is never silently dropped while
    the order's totals count it (record_batch then redoes the read frame by frame)."""
    account, _ = ready(postgresql)
    order_id = scalar(postgresql, "SELECT exchange_order_id FROM lth_pvr.exchange_orders WHERE ext_order_id = 'valr-2'")
    with pytest.raises(psycopg.errors.SerializationFailure, match="recorded meanwhile"):
        postgresql.execute("""
            SELECT lth_pvr.write_frame_effects('{}', '{}',
                       ARRAY[lth_pvr.order_fill_row(%s, %s, 'ws', %s)], '{}')""",
                           (order_id, Jsonb(trade_payload("t-held", "valr-2", "0.001")), NOW))
