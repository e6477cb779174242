"""The fast recording path keeps the results of the slow one: incremental fill totals equal the sums over
order_fills, an unchanged open-orders list recorded set-based gives what item-by-item gave, and a WebSocket
list does not refresh an order the same read already confirmed (but still answers `unchanged`)."""

from __future__ import annotations

import re
from decimal import Decimal

from psycopg.types.json import Jsonb

from worker.lab.bench.query import load
from tests.support.sql import (
    T0, at, batch, events, fill, make_account, one, open_order_item, open_session, order, rows, scalar,
    status_payload, submitted_order, trade_payload, update,
)


def sums(conn, order_id) -> dict:
    # What record_fill computed before it kept the totals incrementally: sums over every fill.
    return one(conn, """SELECT coalesce(sum(qty), 0) AS qty, coalesce(sum(price * qty), 0) AS value,
                               sum(price * qty) / sum(qty) AS avg_price
                          FROM lth_pvr.order_fills WHERE exchange_order_id = %s""", (order_id,))


def assert_totals_are_the_sums(conn, order_id) -> None:
    o, s = order(conn, order_id), sums(conn, order_id)
    assert o["filled_qty"] == s["qty"]
    assert o["filled_value"] == s["value"]
    assert o["avg_price"] == s["avg_price"]


def test_fill_totals_equal_the_sums_after_duplicate_overfill_and_late_fill(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="0.003")
    outcomes = [
        fill(postgresql, account, trade_payload("t1", "valr-1", "0.001", "1000000.5"), now=at(seconds=1)),
        fill(postgresql, account, trade_payload("t1", "valr-1", "0.001", "1000000.5"), source="poll",
             now=at(seconds=2)),  # duplicate: no change
        fill(postgresql, account, trade_payload("t2", "valr-1", "0.0015", "999999.25"), now=at(seconds=3)),
    ]
    assert_totals_are_the_sums(postgresql, order_id)
    update(postgresql, account, status_payload("valr-1", "Cancelled", original="0.003", remaining="0.0005"),
           now=at(seconds=4))
    outcomes.append(fill(postgresql, account, trade_payload("t3", "valr-1", "0.001", "1000001"),
                         now=at(seconds=5)))  # late (after cancelled) and over the quantity
    assert [o["outcome"] for o in outcomes] == ["recorded", "duplicate", "recorded", "overfill"]
    assert_totals_are_the_sums(postgresql, order_id)
    o = order(postgresql, order_id)
    assert (o["status"], o["filled_qty"]) == ("cancelled", Decimal("0.0035"))


def test_a_batch_of_fills_keeps_exact_totals(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="1")
    session = open_session(postgresql, account)
    prices = ["1000000", "1000000.1", "999999.99", "1000000.333"]
    frames = [{"type": "NEW_ACCOUNT_TRADE",
               "data": trade_payload(f"t{i}", "valr-1", "0.00001", prices[i % len(prices)])} for i in range(40)]
    frames.append(frames[3])  # a duplicate inside the same read
    result = batch(postgresql, session, frames, at(seconds=5))
    assert [r["outcome"] for r in result] == ["recorded"] * 40 + ["duplicate"]
    assert_totals_are_the_sums(postgresql, order_id)


def test_unchanged_list_recorded_like_item_by_item(postgresql):
    # Two listed orders that did not change, one with a reconciliation owed: each is refreshed and
    # logged `unchanged`, in list order; the reconciliation is cleared; the absent one is missing.
    account = make_account(postgresql)
    first = submitted_order(postgresql, account, ext="valr-1")
    second = submitted_order(postgresql, account, ext="valr-2")
    absent = submitted_order(postgresql, account, ext="valr-3")
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET reconcile_due_at = %s WHERE exchange_order_id = %s",
                       (T0, second))
    items = [open_order_item(postgresql, second, "valr-2"), open_order_item(postgresql, first, "valr-1")]
    result = rows(postgresql, "SELECT * FROM lth_pvr.reconcile_open_orders(%s, 'poll', %s, %s)",
                  (account, Jsonb(items), at(seconds=10)))
    assert [(r["exchange_order_id"], r["ext_order_id"], r["outcome"]) for r in result] == [
        (second, "valr-2", "unchanged"), (first, "valr-1", "unchanged"), (absent, "valr-3", "missing")]
    logged = [e for e in events(postgresql) if e["kind"] == "open_order"]
    assert [(e["exchange_order_id"], e["outcome"], e["source"]) for e in logged] == [
        (second, "unchanged", "poll"), (first, "unchanged", "poll")]
    assert logged[0]["payload"] == items[0] and logged[0]["received_at"] == at(seconds=10)
    for order_id, item in ((first, items[1]), (second, items[0])):
        o = order(postgresql, order_id)
        assert o["raw"]["valr"] == item
        assert o["exchange_confirmed_at"] == at(seconds=10) and o["reconcile_due_at"] is None
        assert o["updated_at"] == T0  # confirmation is not a change


def test_a_list_with_a_change_goes_item_by_item(postgresql):
    account = make_account(postgresql)
    stays = submitted_order(postgresql, account, ext="valr-1")
    filled = submitted_order(postgresql, account, ext="valr-2")
    items = [open_order_item(postgresql, stays, "valr-1"),
             dict(open_order_item(postgresql, filled, "valr-2"), status="Filled")]
    result = rows(postgresql, "SELECT * FROM lth_pvr.reconcile_open_orders(%s, 'ws', %s, %s)",
                  (account, Jsonb(items), at(seconds=10)))
    assert [(r["exchange_order_id"], r["outcome"]) for r in result] == [(stays, "unchanged"), (filled, "applied")]
    assert order(postgresql, filled)["status"] == "filled"
    assert [e["outcome"] for e in events(postgresql) if e["kind"] == "open_order"] == ["unchanged", "applied"]


def test_ws_list_right_after_the_orders_own_event_is_not_refreshed_again(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    other = submitted_order(postgresql, account, ext="valr-2")
    session = open_session(postgresql, account, at(seconds=5))
    status = status_payload("valr-1", "Partially Filled", original="0.001", remaining="0.0005")
    items = [open_order_item(postgresql, order_id, "valr-1"), open_order_item(postgresql, other, "valr-2")]
    # The session's first list reconciles both (each refreshed, reconcile_due_at cleared).
    batch(postgresql, session, [{"type": "OPEN_ORDERS_UPDATE", "data": items}], at(seconds=6))
    assert [e["outcome"] for e in events(postgresql) if e["kind"] == "open_order"] == ["unchanged"] * 2
    frames = [{"type": "NEW_ACCOUNT_TRADE", "data": trade_payload("t1", "valr-1", "0.0005")},
              {"type": "ORDER_STATUS_UPDATE", "data": status},
              {"type": "OPEN_ORDERS_UPDATE", "data": items}]
    result = batch(postgresql, session, frames, at(seconds=10))
    assert [(r["frame_type"], r["exchange_order_id"], r["outcome"]) for r in result] == [
        ("NEW_ACCOUNT_TRADE", order_id, "recorded"), ("ORDER_STATUS_UPDATE", order_id, "unchanged"),
        ("OPEN_ORDERS_UPDATE", order_id, "unchanged"), ("OPEN_ORDERS_UPDATE", other, "unchanged")]
    # The order the status update confirmed keeps that payload; the other listed order's item repeats
    # word for word what raw holds from the first list: not refreshed either (no event row).
    assert order(postgresql, order_id)["raw"]["valr"] == status
    assert order(postgresql, other)["raw"]["valr"] == items[1]
    assert [(e["kind"], e["outcome"]) for e in events(postgresql, order_id)][-2:] == [
        ("trade", "recorded"), ("order_status", "unchanged")]
    assert [(e["kind"], e["outcome"]) for e in events(postgresql, other)][-2:] == [
        ("placement", "applied"), ("open_order", "unchanged")]
    assert order(postgresql, other)["exchange_confirmed_at"] == at(seconds=6)


def test_ws_list_repeating_what_raw_holds_is_not_refreshed_but_a_changed_item_is(postgresql):
    # VALR sends the whole list after every change: with many open orders nearly every item repeats
    # VALR's last word. Such an item writes nothing; an item that says anything else is refreshed.
    account = make_account(postgresql)
    same = submitted_order(postgresql, account, ext="valr-1")
    moved = submitted_order(postgresql, account, ext="valr-2")
    session = open_session(postgresql, account, at(seconds=5))
    items = [open_order_item(postgresql, same, "valr-1"), open_order_item(postgresql, moved, "valr-2")]
    batch(postgresql, session, [{"type": "OPEN_ORDERS_UPDATE", "data": items}], at(seconds=6))
    newer = [items[0], dict(items[1], quantity="0.0005", updatedAt="2025-03-03T12:00:09Z")]
    result = batch(postgresql, session, [{"type": "OPEN_ORDERS_UPDATE", "data": newer}], at(seconds=10))
    assert [(r["exchange_order_id"], r["outcome"]) for r in result] == [(same, "unchanged"), (moved, "unchanged")]
    assert (order(postgresql, same)["exchange_confirmed_at"], order(postgresql, same)["raw"]["valr"]) == (
        at(seconds=6), items[0])
    assert (order(postgresql, moved)["exchange_confirmed_at"], order(postgresql, moved)["raw"]["valr"]) == (
        at(seconds=10), newer[1])
    logged = [(e["exchange_order_id"], e["received_at"]) for e in events(postgresql) if e["kind"] == "open_order"]
    assert logged == [(same, at(seconds=6)), (moved, at(seconds=6)), (moved, at(seconds=10))]
    # A reconciliation owed is settled by a listing even when the item repeats raw word for word.
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET reconcile_due_at = %s WHERE exchange_order_id = %s",
                       (at(seconds=11), same))
    batch(postgresql, session, [{"type": "OPEN_ORDERS_UPDATE", "data": newer}], at(seconds=12))
    assert order(postgresql, same)["reconcile_due_at"] is None
    assert order(postgresql, same)["exchange_confirmed_at"] == at(seconds=12)


def test_poll_list_refreshes_even_an_order_confirmed_at_the_same_moment(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1")
    update(postgresql, account, status_payload("valr-1", "Placed"), source="poll", now=at(seconds=10))
    item = open_order_item(postgresql, order_id, "valr-1")
    result = rows(postgresql, "SELECT * FROM lth_pvr.reconcile_open_orders(%s, 'poll', %s, %s)",
                  (account, Jsonb([item]), at(seconds=10)))
    assert [r["outcome"] for r in result] == ["unchanged"]
    assert order(postgresql, order_id)["raw"]["valr"] == item
    assert [e["kind"] for e in events(postgresql, order_id)][-1] == "open_order"


def test_first_ws_list_of_an_order_placed_while_watched_confirms_it(postgresql):
    # Placed while the session was open: watched, never confirmed by VALR, no originalQuantity held.
    # An unknown is not "already confirmed": the list refreshes it and logs the item.
    account = make_account(postgresql)
    session = open_session(postgresql, account, at(seconds=1))
    order_id = submitted_order(postgresql, account, ext="valr-1", now=at(seconds=2))
    before = order(postgresql, order_id)
    assert before["ws_monitored_at"] is not None and before["exchange_confirmed_at"] is None
    item = open_order_item(postgresql, order_id, "valr-1")
    result = batch(postgresql, session, [{"type": "OPEN_ORDERS_UPDATE", "data": [item]}], at(seconds=6))
    assert [r["outcome"] for r in result] == ["unchanged"]
    after = order(postgresql, order_id)
    assert (after["exchange_confirmed_at"], after["original_qty"]) == (at(seconds=6), Decimal("0.001"))
    assert [(e["kind"], e["outcome"]) for e in events(postgresql, order_id)][-1] == ("open_order", "unchanged")


def test_finished_at_is_the_final_status_time_and_a_late_fill_keeps_it(postgresql):
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="0.002")
    fill(postgresql, account, trade_payload("t1", "valr-1", "0.001"), now=at(seconds=1))
    assert order(postgresql, order_id)["finished_at"] is None
    update(postgresql, account, status_payload("valr-1", "Cancelled", original="0.002", remaining="0.001"),
           now=at(seconds=2))
    fill(postgresql, account, trade_payload("t2", "valr-1", "0.0005"), now=at(seconds=3))  # late
    o = order(postgresql, order_id)
    assert (o["finished_at"], o["updated_at"], o["filled_qty"]) == (at(seconds=2), at(seconds=3), Decimal("0.0015"))
    # claim_missing_fills' window counts from the final status, not from the late fill.
    assert rows(postgresql, "SELECT * FROM lth_pvr.claim_missing_fills(100, 1, %s)", (at(hours=1, seconds=3),)) == []


def test_a_fill_updates_its_order_row_in_place(postgresql):
    # No index of exchange_orders covers a column a fill changes: the row version stays on its page
    # (a HOT update), and the indexes get no new entry per fill.
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="1")
    session = open_session(postgresql, account)
    postgresql.commit()
    before = one(postgresql, "SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'exchange_orders'")
    batch(postgresql, session, [{"type": "NEW_ACCOUNT_TRADE", "data": trade_payload("t1", "valr-1", "0.001")}], at(seconds=5))
    after = one(postgresql, "SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'exchange_orders'")
    assert order(postgresql, order_id)["filled_qty"] == Decimal("0.001")
    assert after["n_tup_hot_upd"] - (before["n_tup_hot_upd"] or 0) >= 1


def list_check_ms(conn, listed: int) -> float:
    """Server time of open_list_is_unchanged on a list naming each of `listed` submitted orders."""
    return scalar(conn, """
        WITH a AS (SELECT array_agg(jsonb_populate_record(NULL::lth_pvr.exchange_orders,
                                                          jsonb_build_object('status', 'submitted'))) AS orders,
                          jsonb_agg(jsonb_build_object('status', 'Placed')) AS list,
                          array_agg(g) AS positions
                     FROM generate_series(1, %s) AS g),
             t AS (SELECT clock_timestamp() AS t0)
        SELECT CASE WHEN lth_pvr.open_list_is_unchanged(a.list, a.orders, a.positions)
                    THEN extract(epoch FROM clock_timestamp() - t.t0) * 1000 END
          FROM a, t""", (listed,))


def test_a_long_lists_coverage_check_grows_with_the_list_not_its_square(postgresql):
    # Every submitted order must be listed: checked with one hashed set of the listed positions. A
    # correlated scan of the list per order made 1,000 open orders cost ~11 ms per list: 8× the orders,
    # ~55× the time. PL/pgSQL plans its first five calls for their values and then once for all (the
    # plan a worker's session keeps using): measured after those. Best of seven, each size,
    # interleaved, so the machine's noise hits both (best of three: on a suite of four processes on two
    # cores all three large samples were sometimes taken while another process held the CPU). Sizes
    # 16× apart, so that linear (16×) and square (~250×) stay far from the bound even when every large
    # sample shares the CPU (CI: best of seven large 15.5 ms against a small 0.61 at 8× apart, 25×).
    for _ in range(6):
        list_check_ms(postgresql, 250)
    small, large = [], []
    for _ in range(7):
        small.append(list_check_ms(postgresql, 250))
        large.append(list_check_ms(postgresql, 4000))
    assert None not in small + large  # every order listed and unchanged: the check says so
    assert min(large) / min(small) < 64, (small, large)


def currency(code: str) -> dict:
    """VALR's currency object in socket frames (ZAR's symbol is "R", the code is shortName)."""
    return {"symbol": "R" if code == "ZAR" else code, "decimalPlaces": 8, "shortName": code, "longName": code}


def fills_read(postgresql, order_id, ext: str, trade_id: str) -> list[dict]:
    """What VALR sends with one fill: the trade, the status, the open-orders list, the two balances it
    moved and the account history record."""
    updated = "2025-03-03T12:00:05.000Z"
    return [
        {"type": "NEW_ACCOUNT_TRADE", "data": trade_payload(trade_id, ext, "0.0001")},
        {"type": "ORDER_STATUS_UPDATE", "data": status_payload(ext, "Placed")},
        {"type": "OPEN_ORDERS_UPDATE", "data": [open_order_item(postgresql, order_id, ext)]},
        *({"type": "BALANCE_UPDATE", "data": {"currency": currency(code), "available": "1", "reserved": "0",
                                              "total": "1", "updatedAt": updated}} for code in ("BTC", "ZAR")),
        {"type": "NEW_ACCOUNT_HISTORY_RECORD", "data": {
            "transactionType": {"type": "LIMIT_BUY", "description": "Limit Buy"},
            "debitCurrency": currency("ZAR"), "debitValue": "100", "creditCurrency": currency("BTC"),
            "creditValue": "0.0001", "feeCurrency": currency("BTC"), "feeValue": "0.0000001", "eventAt": updated,
            "additionalInfo": {"orderId": ext, "currencyPairSymbol": "BTCZAR"}, "id": f"tx-{trade_id}"}},
    ]


def sql_function_calls(postgresql) -> dict[str, int]:
    """Calls of SQL-language functions in this transaction (track_functions = all)."""
    return {r["funcname"]: r["calls"] for r in rows(postgresql, """
        SELECT f.funcname, f.calls FROM pg_stat_xact_user_functions f JOIN pg_proc p ON p.oid = f.funcid
         WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')""")}


def test_a_fills_read_runs_no_sql_function_left_uninlined(postgresql):
    """Every SQL-language function a fill's read reaches is inlined into its caller's statement: one that
    is not (a FROM in its body) is parsed and planned again on every call. ledger_currency (7 calls a
    read, ~0.06 ms each) and open_list_positions (~0.2 ms) were, until 2026-12-06. Measured once the
    plans are cached (PL/pgSQL plans a statement for its values the first five times, folding constant
    functions such as ledger_frame_types() each time)."""
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="1")
    session = open_session(postgresql, account)
    with postgresql.transaction():
        postgresql.execute("SET LOCAL track_functions = 'all'")
        for i in range(6):
            batch(postgresql, session, fills_read(postgresql, order_id, "valr-1", f"t{i}"), at(seconds=5))
        before = sql_function_calls(postgresql)
        result = batch(postgresql, session, fills_read(postgresql, order_id, "valr-1", "t6"), at(seconds=6))
        after = sql_function_calls(postgresql)
    assert [r["outcome"] for r in result] == ["recorded", "unchanged", "unchanged"] + ["recorded"] * 3
    assert {name: n - before.get(name, 0) for name, n in after.items() if n > before.get(name, 0)} == {}


def function_calls(postgresql) -> dict[str, int]:
    """Calls of every function of ours in this transaction (track_functions = all)."""
    return {r["funcname"]: r["calls"] for r in rows(postgresql, "SELECT funcname, calls FROM pg_stat_xact_user_functions")}


def calls_of_read(postgresql, session, frames, when) -> tuple[list[str], dict[str, int]]:
    before = function_calls(postgresql)
    result = batch(postgresql, session, frames, when)
    after = function_calls(postgresql)
    return [r["outcome"] for r in result], {name: n - before.get(name, 0) for name, n in after.items()}


def test_a_read_pays_only_for_the_work_its_frames_need(postgresql):
    """The fixed cost of every read (issue 24): the held-trade check runs only for a read holding a
    trade; a read of the ledger's frames alone (the worker's second call for every fill) goes to
    record_ledger_frames only; and a read that gathered nothing on the order rows (a pong beside them,
    a list already confirmed) runs no order lock and no write statement (together ~0.07 ms of such a read)."""
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="1")
    session = open_session(postgresql, account)
    with postgresql.transaction():
        postgresql.execute("SET LOCAL track_functions = 'all'")
        status_only = fills_read(postgresql, order_id, "valr-1", "t0")[1:2]
        outcomes, calls = calls_of_read(postgresql, session, status_only, at(seconds=5))
        assert outcomes == ["unchanged"]
        assert calls.get("frames_held_trade_ids", 0) == 0 and calls["write_frame_effects"] == 1, calls
        ledger_only = fills_read(postgresql, order_id, "valr-1", "t1")[3:]
        outcomes, calls = calls_of_read(postgresql, session, ledger_only, at(seconds=6))
        assert outcomes == ["recorded"] * 3
        assert calls.get("record_frames", 0) == 0 and calls["record_ledger_frames"] == 1, calls
        with_a_pong = fills_read(postgresql, order_id, "valr-1", "t3")[3:] + [{"type": "PONG"}]
        outcomes, calls = calls_of_read(postgresql, session, with_a_pong, at(seconds=6))
        assert outcomes == ["recorded"] * 3 + ["ignored"]
        assert {name: calls.get(name, 0) for name in ("record_frames", "frames_order_ids", "write_frame_effects")} \
            == {"record_frames": 1, "frames_order_ids": 0, "write_frame_effects": 0}, calls
        outcomes, calls = calls_of_read(postgresql, session, fills_read(postgresql, order_id, "valr-1", "t2"), at(seconds=7))
        assert outcomes == ["recorded", "unchanged", "unchanged"] + ["recorded"] * 3
        assert calls["frames_held_trade_ids"] == 1 and calls["write_frame_effects"] == 1, calls


def test_frames_that_only_look_like_the_ledgers_keep_their_rows(postgresql):
    """Only a read whose every frame is a ledger frame skips record_frames: a frame that is an array of
    ledger frames, or whose type is an array, is malformed and still answered (jsonpath's lax mode
    would count both as the ledger's, and a read of them alone would return no row for them)."""
    account = make_account(postgresql)
    session = open_session(postgresql, account)
    balance = {"type": "BALANCE_UPDATE", "data": {"currency": currency("BTC"), "available": "1", "reserved": "0",
                                                  "total": "1", "updatedAt": "2025-03-03T12:00:05.000Z"}}
    for read, outcomes in (([[balance]], ["malformed"]),
                           ([balance, [balance]], ["recorded", "malformed"]),
                           ([balance | {"type": ["BALANCE_UPDATE"]}], ["malformed"])):
        assert [r["outcome"] for r in batch(postgresql, session, read, at(seconds=5))] == outcomes, read


def test_open_list_positions_name_the_first_order_with_the_items_orderid(postgresql):
    """One element per item, in list order: the 1-based position of the first order with that orderId
    (as array_position gives), NULL for an item naming none of them or no orderId."""
    items = [{"orderId": "b"}, {"orderId": "a"}, {"orderId": "z"}, {}, {"orderId": 5}, {"orderId": "a"}]
    assert scalar(postgresql, "SELECT lth_pvr.open_list_positions(%s, %s)",
                  (Jsonb(items), ["x", "a", "b", "a", None, "5"])) == [3, 2, None, None, 6, 2]
    assert scalar(postgresql, "SELECT lth_pvr.open_list_positions('[]', %s)", (["a"],)) == []


def nested_statement_buffers(postgresql, query: str, params: tuple, marker: str) -> list[int]:
    """The shared buffers each statement run inside `query` whose text holds `marker` touched."""
    # The first Buffers line of a plan is its top node's: the whole statement's.
    return [int(m.group(1)) for p in nested_statement_plans(postgresql, query, params, marker)
            for m in [re.search(r"Buffers: shared hit=(\d+)", p)] if m]


def nested_statement_plans(postgresql, query: str, params: tuple, marker: str) -> list[str]:
    """The plans of the statements run inside `query` whose text holds `marker` (auto_explain's plans
    of nested statements, sent to this client as NOTICEs)."""
    postgresql.execute("LOAD 'auto_explain'")
    plans: list[str] = []
    postgresql.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
    with postgresql.transaction():
        for setting, value in (("log_min_duration", "0"), ("log_nested_statements", "on"), ("log_analyze", "on"),
                               ("log_buffers", "on"), ("log_timing", "off"), ("log_level", "notice")):
            postgresql.execute(f"SET LOCAL auto_explain.{setting} = {value}")
        rows(postgresql, query, params)
    return [p for p in plans if marker in p]


def test_a_reads_duplicate_check_probes_the_unique_key_not_every_fill(postgresql):
    """Which of a read's trade ids are already recorded is one probe of trade_id_must_be_unique per id
    (exchange, id_scope, trade_id): without id_scope in its condition the scan read every VALR fill's
    index entry to filter on trade_id — per read, growing with the history (1.2–1.7 ms of a fill's
    read at a few thousand fills, the largest single share of record_batch's server time)."""
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="1")
    postgresql.execute("""INSERT INTO lth_pvr.order_fills (trade_id, exchange_order_id, price, qty, traded_at, source)
                          SELECT 'history-' || i, %s, 1000000, 0.000001, %s, 'ws'
                            FROM generate_series(1, 5000) i""", (order_id, T0))
    postgresql.execute("ANALYZE lth_pvr.order_fills")
    trades = [{"type": "NEW_ACCOUNT_TRADE", "data": trade_payload(t, "valr-1", "0.0001")}
              for t in ("history-4999", "new-1")]
    blocks = nested_statement_buffers(postgresql, "SELECT lth_pvr.frames_held_trade_ids(%s) AS held", (Jsonb(trades),),
                                      "order_fills")
    assert blocks and max(blocks) <= 8, blocks  # two probes of a three-level index and a heap page


def test_a_reads_orders_are_locked_by_the_unique_key_not_by_a_scan_of_every_order(postgresql):
    """The orders a read names are found by one probe of ext_order_id_must_be_unique (exchange,
    ext_order_id) each: without the exchange in its condition the lock statement read the whole index
    (4.6 ms against 1.8 for a fill's read at 100,000 finished orders, and growing with them)."""
    account = make_account(postgresql)
    order_id = submitted_order(postgresql, account, ext="valr-1", qty="1")
    load(postgresql, account, "filled", "hist-", 1, 20_000)
    postgresql.execute("ANALYZE lth_pvr.exchange_orders")
    session = open_session(postgresql, account)
    read = [{"type": "NEW_ACCOUNT_TRADE", "data": trade_payload("t1", "valr-1", "0.0001")},
            {"type": "OPEN_ORDERS_UPDATE", "data": [open_order_item(postgresql, order_id, "valr-1")]}]
    blocks = nested_statement_buffers(postgresql, "SELECT * FROM lth_pvr.record_batch(%s, %s, %s)",
                                      (session, Jsonb(read), at(seconds=5)), "FROM lth_pvr.exchange_orders o")
    assert blocks and max(blocks) <= 20, blocks  # the lock statement: a few index and heap pages


def test_a_deposits_notify_and_credit_read_the_inserted_rows_not_the_accounts_history(postgresql):
    """A page or frame holding a deposit NOTIFYs it and credits its pending receive from the rows the
    INSERT returned. Read back from the table instead (by the primary key, it was meant), a table without
    statistics yet — a new deployment's first catch-up, the bench — was planned as a scan of the
    account's whole history for each page with a deposit: 130 ms a page at 40,000 transactions and
    growing (figure 11: 1,512–1,664 rows/s for catch-ups of 20,000), once the statement's plan was the generic
    one a connection keeps after five executions. No ANALYZE here, as there."""
    account = make_account(postgresql)
    postgresql.execute("""INSERT INTO lth_pvr.account_transactions
                              (transaction_id, exchange_account_id, transaction_type, event_at, raw, source, recorded_at)
                          SELECT 'history-' || i, %s, 'LIMIT_BUY', %s, '{}', 'rest', %s
                            FROM generate_series(1, 5000) i""", (account, T0, T0))
    deposit = {"id": "deposit-1", "transactionType": {"type": "FIAT_DEPOSIT", "description": "Fiat Deposit"},
               "creditCurrency": "ZAR", "creditValue": "250.00", "eventAt": "2026-12-01T10:00:00.000Z"}
    query = "SELECT * FROM lth_pvr.record_transactions(%s, 'rest', %s)"
    for i in range(6):  # past PL/pgSQL's five custom plans: the generic plan, as a worker's connection keeps
        rows(postgresql, query, (account, Jsonb([deposit | {"id": f"deposit-0{i}"}])))
    notify = nested_statement_buffers(postgresql, query, (account, Jsonb([deposit])), "pg_notify('lth_pvr_deposit'")
    deposit2 = deposit | {"id": "deposit-2"}
    credit = nested_statement_buffers(postgresql, query, (account, Jsonb([deposit2])), "UPDATE lth_pvr.pending_receives")
    assert len(notify) == 1 and len(credit) == 1, (notify, credit)  # each ran once
    assert max(notify + credit) <= 10, (notify, credit)  # not the 5,000 held rows' pages


def test_a_reads_transaction_outcomes_probe_the_primary_key_not_the_exchanges_history(postgresql):
    """Each item's outcome (recorded, duplicate, conflict) is read from the insert's own result and, for
    an id already held, one probe of the primary key (exchange, transaction_id): joined to every
    transaction of the exchange instead, each read of history records scanned the whole history (in
    figure 2, 6.9 of a read's 9.6 ms in record_ledger_frames at 30,000 transactions, and growing)."""
    account, other = make_account(postgresql), make_account(postgresql)
    postgresql.execute("""INSERT INTO lth_pvr.account_transactions
                              (transaction_id, exchange_account_id, transaction_type, event_at, raw, source, recorded_at)
                          SELECT 'history-' || i, CASE WHEN i = 1 THEN %s ELSE %s END, 'LIMIT_BUY', %s, '{}', 'rest', %s
                            FROM generate_series(1, 5000) i""", (other, account, T0, T0))
    record = {"transactionType": {"type": "LIMIT_BUY", "description": "Limit Buy"}, "debitCurrency": "ZAR",
              "debitValue": "10", "creditCurrency": "BTC", "creditValue": "0.00001", "eventAt": "2026-12-01T10:00:00Z"}
    items = [record | {"id": i} for i in ("new-1", "history-4999", "history-1", "new-1", "new-2")] + [{"id": "bad"}]
    query = "SELECT * FROM lth_pvr.record_transactions(%s, 'ws', %s)"
    assert [r["outcome"] for r in rows(postgresql, query, (account, Jsonb(items)))] == [
        "recorded", "duplicate", "conflict", "duplicate", "recorded", "malformed"]
    read = [record | {"id": f"read-{i}"} for i in range(40)] + [record | {"id": "history-4998"}]
    blocks = nested_statement_buffers(postgresql, query, (account, Jsonb(read)), "account_transactions held")
    assert blocks and max(blocks) <= 10, blocks  # one probe of the primary key, not 5,000 rows' pages


def test_the_event_logs_vocabularies_are_cheap_to_prepare_for_each_statement(postgresql):
    """PostgreSQL prepares a table's CHECK constraints again, from their stored node trees, for every
    statement that writes it. `outcome IN ('applied', …)` is stored as one constant node per word (12 KB
    for order_events' three checks, ~32 µs of every INSERT statement into it: six times the insert);
    the same words as one array constant ('{applied, …}'::text[]) are a third of that
    (20260110_event_words_one_constant.sql). Room is left for words to come, not for the other spelling."""
    stored = scalar(postgresql, """SELECT sum(length(conbin)) FROM pg_constraint
                                    WHERE conrelid = 'lth_pvr.order_events'::regclass AND contype = 'c'""")
    assert stored < 8000, stored


def test_the_orders_vocabularies_are_one_constant_each(postgresql):
    """exchange_orders' CHECKs are prepared again for every statement that updates an order (every
    read's write): a vocabulary spelled ARRAY['a'::text, …] is stored as one constant node per word,
    '{a, …}'::text[] as one (20260110_order_words_one_constant.sql: 16.9 → 13.9 KB stored, ~10 µs of
    every UPDATE of an order). No CHECK of the three tables a fill's read writes keeps the long spelling."""
    long_spelled = rows(postgresql, """
        SELECT conrelid::regclass::text AS tbl, conname FROM pg_constraint
         WHERE conrelid IN ('lth_pvr.exchange_orders'::regclass, 'lth_pvr.order_events'::regclass,
                            'lth_pvr.order_fills'::regclass)
           AND contype = 'c' AND strpos(conbin::text, '{ARRAYEXPR') > 0""")
    assert long_spelled == []
