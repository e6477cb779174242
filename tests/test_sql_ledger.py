"""The account ledger in SQL (issue 23): transactions idempotent on VALR's id, currency codes never
"R", exact values, deposits and their NOTIFY, balances never going back, pending crypto deposits,
the catch-up cursor moving only to a point proven complete, the socket frames through record_batch."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.harness import wait_for
from tests.support.sql import T0, at, listener, make_account, one, received, rows, scalar

DOC_RECORD = json.loads("""{"transactionType": {"type": "MARKET_BUY", "description": "Market Buy"},
 "debitCurrency": {"symbol": "R", "decimalPlaces": 2, "isActive": true, "shortName": "ZAR", "longName": "Rand"},
 "debitValue": "3725371.384",
 "creditCurrency": {"symbol": "BTC", "decimalPlaces": 8, "shortName": "BTC", "longName": "Bitcoin"},
 "creditValue": "4.65205751577",
 "feeCurrency": {"symbol": "BTC", "decimalPlaces": 8, "shortName": "BTC"}, "feeValue": "0.00465671423",
 "eventAt": "2022-11-14T20:00:58.263Z",
 "additionalInfo": {"costPerCoin": 800000, "costPerCoinSymbol": "R", "currencyPairSymbol": "BTCZAR",
                    "orderId": "3904a62e-756c-4b02-aa15-ec9c3d19bd7d"},
 "id": "a3c85807-34ed-4515-84a2-6f9b863947ed"}""")


def deposit(amount: str = "1000", *, currency="ZAR", kind="FIAT_DEPOSIT", at_: str = "2025-03-03T09:00:00.123Z",
            tx_id: str | None = None, **info) -> dict:
    """A deposit as GET /v1/account/transactionhistory gives it (currency as a code)."""
    return {"transactionType": {"type": kind, "description": kind.title()}, "creditCurrency": currency,
            "creditValue": amount, "eventAt": at_, "additionalInfo": info, "id": tx_id or str(uuid.uuid4())}


def record(conn, account, items, source="ws"):
    return rows(conn, "SELECT * FROM lth_pvr.record_transactions(%s, %s, %s, %s)", (account, source, Jsonb(items), T0))


def page(conn, account, items, limit, before=None, source="rest", now=T0):
    return one(conn, "SELECT * FROM lth_pvr.record_transaction_page(%s, %s, %s, %s, %s, %s)",
               (account, Jsonb(items), limit, before, source, now))


def test_documented_record_is_kept_exactly_with_codes_not_symbols(postgresql):
    account = make_account(postgresql)
    assert [r["outcome"] for r in record(postgresql, account, [DOC_RECORD])] == ["recorded"]
    row = one(postgresql, "SELECT * FROM lth_pvr.account_transactions")
    assert (row["debit_currency"], row["credit_currency"], row["fee_currency"]) == ("ZAR", "BTC", "BTC")
    assert row["debit_value"] == Decimal("3725371.384")
    assert row["credit_value"] == Decimal("4.65205751577") and row["fee_value"] == Decimal("0.00465671423")
    assert row["event_at"].isoformat() == "2022-11-14T20:00:58.263000+00:00"
    assert row["additional_info"]["orderId"] == "3904a62e-756c-4b02-aa15-ec9c3d19bd7d"
    assert row["raw"] == DOC_RECORD and row["transaction_type"] == "MARKET_BUY"
    # The same transaction from REST, currencies as codes: one row.
    rest = {**DOC_RECORD, "debitCurrency": "ZAR", "creditCurrency": "BTC", "feeCurrency": "BTC"}
    assert [r["outcome"] for r in record(postgresql, account, [rest], "rest")] == ["duplicate"]
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.account_transactions") == 1


def test_currency_codes_from_either_shape_never_r(postgresql):
    cases = [('"ZAR"', "ZAR"), ('"R"', "ZAR"), ('{"symbol": "R", "shortName": "ZAR"}', "ZAR"),
             ('{"symbol": "R"}', "ZAR"), ('{"symbol": "BTC", "decimalPlaces": 8}', "BTC"),
             ('{"shortName": "usdc"}', "USDC"), ("null", None), ("{}", None), ("12", None)]
    for value, code in cases:
        assert scalar(postgresql, "SELECT lth_pvr.ledger_currency(%s::jsonb)", (value,)) == code, value
    account = make_account(postgresql)
    with pytest.raises(psycopg.errors.CheckViolation):
        postgresql.execute("""INSERT INTO lth_pvr.account_transactions (transaction_id, exchange_account_id,
            transaction_type, credit_currency, credit_value, event_at, raw, source, recorded_at)
            VALUES ('x', %s, 'FIAT_DEPOSIT', 'R', 1, now(), '{}', 'ws', now())""", (account,))


def test_two_deposits_of_the_same_amount_on_the_same_day_are_two_deposits_each_notified_once(postgresql, db_url):
    account = make_account(postgresql)
    postgresql.commit()
    watch = listener(db_url, "lth_pvr_deposit")
    first, second = deposit("500.00"), deposit("500.00")
    outcomes = record(postgresql, account, [first, second, first])
    assert [r["outcome"] for r in outcomes] == ["recorded", "recorded", "duplicate"]
    postgresql.commit()
    notes = received(watch, expect=2)
    assert sorted(json.loads(p)["transaction_id"] for _, p in notes) == sorted([first["id"], second["id"]])
    assert json.loads(notes[0][1])["kind"] == "fiat" and json.loads(notes[0][1])["amount"] == 500.00
    record(postgresql, account, [first, second], "rest")
    postgresql.commit()
    assert received(watch) == []  # a deposit already held is not announced again
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.v_deposits WHERE amount = 500") == 2


def test_transfer_between_two_subaccounts_is_one_debit_and_one_credit(postgresql):
    a, b = make_account(postgresql), make_account(postgresql)
    out = {"transactionType": {"type": "INTERNAL_TRANSFER"}, "debitCurrency": "ZAR", "debitValue": "250",
           "eventAt": "2025-03-03T10:00:00Z", "additionalInfo": {"transferId": "t1"}, "id": "out-1"}
    into = {"transactionType": {"type": "INTERNAL_TRANSFER"}, "creditCurrency": "ZAR", "creditValue": "250",
            "eventAt": "2025-03-03T10:00:00Z", "additionalInfo": {"transferId": "t1"}, "id": "in-1"}
    record(postgresql, a, [out])
    record(postgresql, b, [into])
    deposits = rows(postgresql, "SELECT exchange_account_id, kind, amount FROM lth_pvr.v_deposits")
    assert deposits == [{"exchange_account_id": b, "kind": "internal", "amount": Decimal("250")}]
    # Nothing reads the debit as a withdrawal: it is a transfer, with its value as VALR gave it.
    assert one(postgresql, "SELECT category, debit_value FROM lth_pvr.v_account_activity WHERE transaction_id = 'out-1'") \
        == {"category": "transfer", "debit_value": Decimal("250")}


def test_withdrawal_keeps_its_network_fee_and_is_no_deposit(postgresql, db_url):
    account = make_account(postgresql)
    postgresql.commit()
    watch = listener(db_url, "lth_pvr_deposit")
    send = {"transactionType": {"type": "BLOCKCHAIN_SEND"}, "debitCurrency": "BTC", "debitValue": "0.01",
            "feeCurrency": {"symbol": "BTC", "shortName": "BTC"}, "feeValue": "0.0001",
            "eventAt": "2025-03-03T10:00:00Z", "additionalInfo": {"transactionHash": "0xabc"}, "id": "w1"}
    record(postgresql, account, [send])
    assert one(postgresql, "SELECT fee_currency, fee_value FROM lth_pvr.account_transactions") \
        == {"fee_currency": "BTC", "fee_value": Decimal("0.0001")}
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.v_deposits") == 0
    postgresql.commit()
    assert received(watch) == []


def test_malformed_items_are_counted_not_recorded_and_unknown_types_are_kept_and_alerted(postgresql):
    account = make_account(postgresql)
    bad = [{"id": "no-type", "eventAt": "2025-03-03T10:00:00Z"}, {**deposit(), "creditValue": "abc"},
           {**deposit(), "creditValue": "-5"}, {**deposit(), "eventAt": "yesterday"}, "text", {**deposit(), "id": None}]
    novel = {**deposit(), "transactionType": {"type": "STAKING_REWARD"}}
    outcomes = [r["outcome"] for r in record(postgresql, account, bad + [novel])]
    assert outcomes == ["malformed"] * 6 + ["recorded"]
    alert = one(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'ledger_unknown_transaction_type'", (T0,))
    assert alert["measured"] == 1 and "STAKING_REWARD" in alert["detail"]


def test_account_transactions_are_append_only_for_every_writer(postgresql):
    account = make_account(postgresql)
    record(postgresql, account, [deposit(tx_id="d1")])
    for statement in ("UPDATE lth_pvr.account_transactions SET credit_value = 1",
                      "DELETE FROM lth_pvr.account_transactions", "TRUNCATE lth_pvr.account_transactions CASCADE"):
        with pytest.raises(psycopg.errors.CheckViolation, match="append-only"):
            with postgresql.transaction():
                postgresql.execute(statement)


def balance(currency, available, reserved, updated_at):
    total = str(Decimal(available) + Decimal(reserved))
    return {"currency": currency, "available": available, "reserved": reserved, "total": total,
            "updatedAt": updated_at}


def test_an_older_balance_never_overwrites_a_newer_one(postgresql):
    account = make_account(postgresql)
    snap = "SELECT lth_pvr.record_balance_snapshot(%s, %s, %s)"
    assert scalar(postgresql, snap, (account, Jsonb([balance("ZAR", "1000", "0", "2025-03-03T10:00:00.500Z")]), T0)) == 1
    # A resting buy order: funds move from available to reserved; the total, what the account holds, stays.
    newer = balance("ZAR", "400", "600", "2025-03-03T10:00:01.000Z")
    assert scalar(postgresql, snap, (account, Jsonb([newer]), T0)) == 1
    assert scalar(postgresql, snap, (account, Jsonb([balance("ZAR", "1000", "0", "2025-03-03T10:00:00.900Z")]), T0)) == 0
    held = one(postgresql, "SELECT available, reserved, total FROM lth_pvr.v_balances")
    assert held == {"available": Decimal("400"), "reserved": Decimal("600"), "total": Decimal("1000")}
    with pytest.raises(psycopg.errors.CheckViolation, match="older"):
        postgresql.execute("UPDATE lth_pvr.balances SET updated_at = updated_at - interval '1 s'")


def test_a_later_balance_of_the_same_millisecond_is_held(postgresql):
    """VALR stamps balances to the millisecond: a market order trading at two levels (or two placed
    together) moves a balance twice within one. The later word of the same updatedAt is held; before,
    the first stayed, and even the next REST snapshot (same stamp) could not correct it (the short chaos
    run: a subaccount's BTC 0.0002 off after its final sync). The same amounts again change nothing."""
    account = make_account(postgresql)
    snap = "SELECT lth_pvr.record_balance_snapshot(%s, %s, %s)"
    stamp = "2026-12-07T08:53:49.100Z"
    assert scalar(postgresql, snap, (account, Jsonb([balance("BTC", "0.9999", "0", stamp)]), T0)) == 1
    assert scalar(postgresql, snap, (account, Jsonb([balance("BTC", "0.9997", "0", stamp)]), T0)) == 1
    assert scalar(postgresql, "SELECT total FROM lth_pvr.v_balances") == Decimal("0.9997")
    assert scalar(postgresql, snap, (account, Jsonb([balance("BTC", "0.9997", "0", stamp)]), T0)) == 0


def session(conn, account):
    return scalar(conn, "SELECT lth_pvr.session_open('w1', %s, %s)", (account, T0))


def test_socket_frames_are_recorded_through_record_batch(postgresql):
    account = make_account(postgresql)
    sid = session(postgresql, account)
    pending = {"currency": {"symbol": "ETH", "shortName": "ETH"}, "receiveAddress": "0xcf",
               "transactionHash": "0xd97", "networkType": "Ethereum", "amount": 0.0005,
               "createdAt": "2025-06-05T08:40:48Z", "confirmations": 1, "confirmed": False, "indexInTx": 51}
    frames = [{"type": "NEW_ACCOUNT_HISTORY_RECORD", "data": DOC_RECORD},
              {"type": "BALANCE_UPDATE", "data": {"currency": {"symbol": "BTC", "shortName": "BTC"}, "available": "1",
                                                  "reserved": "0.5", "total": "1.5",
                                                  "updatedAt": "2025-03-03T10:00:00Z"}},
              {"type": "NEW_PENDING_RECEIVE", "data": pending},
              {"type": "NEW_PENDING_RECEIVE", "data": {**pending, "confirmations": 3}},
              {"type": "NEW_ACCOUNT_HISTORY_RECORD", "data": DOC_RECORD}]
    out = rows(postgresql, "SELECT frame_index, frame_type, outcome FROM lth_pvr.record_batch(%s, %s, %s) "
                           "ORDER BY frame_index", (sid, Jsonb(frames), T0))
    assert [r["outcome"] for r in out] == ["recorded", "recorded", "recorded", "recorded", "duplicate"]
    assert scalar(postgresql, "SELECT total FROM lth_pvr.balances WHERE currency = 'BTC'") == Decimal("1.5")
    shown = one(postgresql, "SELECT kind, confirmed, confirmations, amount FROM lth_pvr.v_deposits")
    assert shown == {"kind": "crypto", "confirmed": False, "confirmations": 3, "amount": Decimal("0.0005")}
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.order_events") == 0
    # The credit arrives: the pending deposit gives way to the deposit itself.
    credit = deposit("0.0005", currency="ETH", kind="BLOCKCHAIN_RECEIVE", transactionHash="0xd97")
    rows(postgresql, "SELECT * FROM lth_pvr.record_batch(%s, %s, %s)",
         (sid, Jsonb([{"type": "NEW_ACCOUNT_HISTORY_RECORD", "data": credit}]), T0))
    shown = one(postgresql, "SELECT transaction_id, kind, confirmed FROM lth_pvr.v_deposits")
    assert shown == {"transaction_id": credit["id"], "kind": "crypto", "confirmed": True}


def history(n: int, start: int = 0) -> list[dict]:
    """n transactions, newest first as VALR pages them, every four sharing one timestamp."""
    return [deposit("1", tx_id=f"tx-{i:04d}", at_=f"2025-03-03T09:{(i // 4) // 60:02d}:{(i // 4) % 60:02d}Z")
            for i in reversed(range(start, start + n))]


def catch_up(conn, account, newest_first, limit, now=T0, stop_after=None):
    """What the worker does: page by beforeId until SQL says done (or stop_after pages: a crash)."""
    before, pages = None, 0
    while True:
        at_ = 0 if before is None else next(i for i, t in enumerate(newest_first) if t["id"] == before) + 1
        result = page(conn, account, newest_first[at_:at_ + limit], limit, before, now=now)
        pages += 1
        if result["done"] or pages == stop_after:
            return result, pages
        before = result["next_before_id"]


def cursor(conn, account):
    return one(conn, "SELECT * FROM lth_pvr.ledger_cursors WHERE exchange_account_id = %s", (account,))


def test_catch_up_reads_every_page_and_moves_the_cursor_only_when_complete(postgresql):
    account = make_account(postgresql)
    held = history(450)
    result, pages = catch_up(postgresql, account, held, 200)
    assert (pages, result["held_reached"]) == (3, False)
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.account_transactions") == 450
    assert cursor(postgresql, account)["newest_transaction_id"] == "tx-0449"
    # 450 more while the worker was down; a crash after two pages leaves the cursor where it was.
    newer = history(450, 450) + held
    catch_up(postgresql, account, newer, 200, stop_after=2)
    assert cursor(postgresql, account)["newest_transaction_id"] == "tx-0449"
    result, pages = catch_up(postgresql, account, newer, 200)
    assert (pages, result["held_reached"]) == (3, True)
    assert cursor(postgresql, account)["newest_transaction_id"] == "tx-0899"
    assert scalar(postgresql, "SELECT count(DISTINCT transaction_id) FROM lth_pvr.account_transactions") == 900


def test_sync_is_requested_claimed_once_and_failures_keep_the_cursor(postgresql, db_url):
    a, b = make_account(postgresql), make_account(postgresql)
    postgresql.commit()
    watch = listener(db_url, "lth_pvr_ledger_sync")
    claim = "SELECT exchange_account_id FROM lth_pvr.claim_ledger_syncs(%s, NULL, 100, %s)"
    assert {r["exchange_account_id"] for r in rows(postgresql, claim, ("w1", T0))} == {a, b}  # never synced
    assert rows(postgresql, claim, ("w2", T0)) == []                                          # claimed
    catch_up(postgresql, a, history(3), 200)
    postgresql.execute("SELECT lth_pvr.record_ledger_sync_failed(%s, 'HTTP 500', %s)", (b, T0))
    assert cursor(postgresql, b)["newest_transaction_id"] is None
    assert "HTTP 500" in one(postgresql, "SELECT detail FROM lth_pvr.alerts(%s) WHERE name = 'ledger_sync_failing'",
                             (at(seconds=1),))["detail"]
    assert [r["exchange_account_id"] for r in rows(postgresql, claim, ("w2", at(seconds=1)))] == [b]
    assert rows(postgresql, claim, ("w2", at(minutes=4))) == []   # a synced recently; b's claim held
    assert scalar(postgresql, "SELECT lth_pvr.request_ledger_sync(%s, %s)", (a, at(minutes=4))) == 1
    postgresql.commit()
    assert received(watch, expect=1) == [("lth_pvr_ledger_sync", str(a))]
    assert [r["exchange_account_id"] for r in rows(postgresql, claim, ("w2", at(minutes=4)))] == [a]
    assert scalar(postgresql, "SELECT lth_pvr.ledger_sync_tick(%s)", (at(minutes=4),)) == 0  # all claimed
    assert scalar(postgresql, "SELECT lth_pvr.ledger_sync_tick(%s)", (at(minutes=10),)) == 2  # claims expired
    postgresql.commit()
    assert received(watch, expect=1) == [("lth_pvr_ledger_sync", "*")]


def test_a_request_made_while_a_sync_runs_is_announced_again_when_it_ends(postgresql, db_url):
    """Its own NOTIFY found the account claimed: without a second one it waited for the next periodic claim."""
    account = make_account(postgresql)
    claim = "SELECT exchange_account_id FROM lth_pvr.claim_ledger_syncs('w1', NULL, 100, %s)"
    assert [r["exchange_account_id"] for r in rows(postgresql, claim, (T0,))] == [account]
    postgresql.execute("SELECT lth_pvr.request_ledger_sync(%s, %s)", (account, at(seconds=1)))
    postgresql.commit()
    watch = listener(db_url, "lth_pvr_ledger_sync")
    catch_up(postgresql, account, history(3), 200, now=at(seconds=2))
    postgresql.commit()
    assert received(watch, expect=1) == [("lth_pvr_ledger_sync", str(account))]
    assert [r["exchange_account_id"] for r in rows(postgresql, claim, (at(seconds=2),))] == [account]
    catch_up(postgresql, account, history(3), 200, now=at(seconds=3))  # nothing asked meanwhile: silent
    postgresql.commit()
    assert received(watch) == []


def test_rescan_finds_what_both_paths_missed_and_alerts_it(postgresql):
    account = make_account(postgresql)
    held = history(5)
    catch_up(postgresql, account, held, 200)
    late = deposit("7", tx_id="late-1", at_="2025-03-03T08:59:00Z")
    result = page(postgresql, account, held + [late], 200, source="rescan")
    assert (result["recorded"], result["done"]) == (1, True)
    assert cursor(postgresql, account)["newest_transaction_id"] == "tx-0004"
    alert = one(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'ledger_late_transactions'", (T0,))
    assert alert["level"] == "critical" and "late-1" in alert["detail"]


def test_reader_reads_the_views_and_worker_calls_its_functions(postgresql, reader_url, worker_url):
    account = make_account(postgresql)
    record(postgresql, account, [deposit()])
    postgresql.commit()
    with psycopg.connect(reader_url) as reader:
        seen = {view: reader.execute(f"SELECT count(*) FROM lth_pvr.{view}").fetchone()[0]
                for view in ("v_deposits", "v_balances", "v_account_activity")}
    assert seen == {"v_deposits": 1, "v_balances": 0, "v_account_activity": 1}
    with psycopg.connect(worker_url) as worker:
        claimed = worker.execute("SELECT exchange_account_id FROM lth_pvr.claim_ledger_syncs('w', NULL, 10)").fetchall()
        done = worker.execute("SELECT done FROM lth_pvr.record_transaction_page(%s, '[]', 200)", (account,)).fetchone()
        asked = worker.execute("SELECT lth_pvr.request_ledger_sync(%s)", (account,)).fetchone()
    assert (claimed, done, asked) == ([(account,)], (True,), (1,))


def test_a_fill_reaches_the_ledger_over_the_socket_with_its_balances(sim, orders, start_worker):
    account = orders.account("")
    start_worker()
    order_id, intent = orders.insert(account)
    orders.wait_status(order_id, "submitted")
    sim.fill(str(intent))
    orders.wait_status(order_id, "filled")
    ext = orders.sql("SELECT ext_order_id FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s", (order_id,))[0][0]
    wait_for(lambda: orders.sql("SELECT 1 FROM lth_pvr.account_transactions WHERE additional_info->>'orderId' = %s",
                                (ext,)), what="the fill's history record")
    # Over the socket, or by the catch-up every connect asks for when it read the fill first: one row.
    [(kind, debit, credit)] = orders.sql(
        "SELECT transaction_type, debit_currency, credit_currency FROM lth_pvr.account_transactions "
        "WHERE additional_info->>'orderId' = %s AND transaction_type <> 'MAKER_REWARD'", (ext,))
    assert kind == "LIMIT_BUY" and "R" not in (debit, credit)
    held = {c for (c,) in orders.sql("SELECT currency FROM lth_pvr.balances")}
    assert {"BTC", "ZAR"} <= held


def test_transactions_made_while_the_worker_was_down_are_all_read_back(sim, orders, start_worker):
    """450 deposits of one amount (200 sharing one timestamp across a page boundary) before any worker
    runs: the catch-up reads them all, once each; later ones are read back to the cursor on request."""
    account = orders.account("")
    sim._post("deposit", {"currency": "ZAR", "amount": "100", "count": 250})
    sim._post("deposit", {"currency": "ZAR", "amount": "100", "count": 200, "sameTime": True})
    start_worker()
    count = "SELECT count(*), count(DISTINCT transaction_id) FROM lth_pvr.v_deposits WHERE amount = 100"
    wait_for(lambda: orders.sql(count)[0][0] >= 450, timeout=30, what="450 deposits read back")
    zar = str(Decimal("1000000000000") + 45000)  # the simulator's opening balance plus the deposits
    wait_for(lambda: orders.sql("SELECT total::text FROM lth_pvr.balances WHERE currency = 'ZAR'") == [(zar,)],
             timeout=30, what="the balance read")
    assert orders.sql(count) == [(450, 450)]
    sim._post("deposit", {"currency": "ZAR", "amount": "100", "count": 3})
    orders.sql("SELECT lth_pvr.request_ledger_sync(%s)", (account,))
    wait_for(lambda: orders.sql(count)[0][0] == 453, timeout=30, what="3 more deposits")
    histories = [r for r in sim.counters()["rest"] if "transactionhistory" in r]
    assert histories, sim.counters()["rest"]


def test_history_records_dropped_on_the_socket_are_found_by_the_catch_up(sim, orders, start_worker):
    account = orders.account("")
    start_worker()
    order_id, intent = orders.insert(account, qty="0.0003")
    orders.wait_status(order_id, "submitted")
    # The syncs the start and the socket's connect asked for are over (with their first re-scan): no
    # REST read runs while the records are dropped, so only the socket has had its chance at them.
    idle = "SELECT synced_at IS NOT NULL AND rescanned_at IS NOT NULL AND sync_requested_at IS NULL " \
           "AND sync_claimed_at IS NULL FROM lth_pvr.ledger_cursors WHERE exchange_account_id = %s"
    wait_for(lambda: orders.sql(idle, (account,)) == [(True,)], timeout=30, what="the ledger's first syncs done")
    sim.faults(history_drop=2, history_duplicate=1)
    for _ in range(3):
        sim.fill(str(intent), "0.0001")
    orders.wait_status(order_id, "filled")
    ext = orders.sql("SELECT ext_order_id FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s", (order_id,))[0][0]
    held = "SELECT count(*) FROM lth_pvr.account_transactions WHERE additional_info->>'orderId' = %s " \
           "AND transaction_type = 'LIMIT_BUY'"
    assert orders.sql(held, (ext,))[0][0] <= 1  # two of three never reached the socket, one came twice
    orders.sql("SELECT lth_pvr.request_ledger_sync(%s)", (account,))
    wait_for(lambda: orders.sql(held, (ext,))[0][0] == 3, timeout=30, what="the dropped records read back")
    assert orders.sql("SELECT count(*) FILTER (WHERE source = 'rest') FROM lth_pvr.account_transactions "
                      "WHERE additional_info->>'orderId' = %s", (ext,))[0][0] >= 2


def test_a_catch_up_page_parses_currencies_inline_and_asks_deposit_kind_only_of_its_deposits(postgresql):
    """The catch-up's cost (bench figure 10): ledger_currency, called three times a row, is one inlined
    expression (as a subquery it was a third of a page's SQL), and deposit_kind is asked only of rows
    whose type may be a deposit — not of the 199 trades beside one deposit."""
    account = make_account(postgresql)
    trades = [{**DOC_RECORD, "id": str(uuid.uuid4())} for _ in range(199)]
    postgresql.execute("SET track_functions = 'all'")
    result = page(postgresql, account, [deposit("250")] + trades, 200)
    calls = dict(postgresql.execute("SELECT funcname, calls FROM pg_stat_xact_user_functions").fetchall())
    assert result["recorded"] == 200
    assert "ledger_currency" not in calls, calls
    assert calls.get("deposit_kind", 0) <= 2, calls  # the NOTIFY's row, and the pending receives' look
