"""The ledger of accounts reached through ccxt (issue 25) in SQL: ccxt's unified balances, ledger entries
and deposit/withdrawal transactions into the VALR ledger's tables, with its rules: once per (exchange, id),
NOTIFY lth_pvr_deposit once per deposit (a pending deposit is a pending receive until its ok), balances
never going back in time, the time cursor never past a pending entry; the ledger's claim reaching them."""

from __future__ import annotations

import json
from decimal import Decimal

from psycopg.types.json import Jsonb

from tests.support.sql import T0, at, listener, one, received, rows, scalar


def account(conn, exchange: str = "kraken") -> object:
    return scalar(conn, "INSERT INTO lth_pvr.exchange_accounts (exchange, subaccount_id) VALUES (%s, '') "
                        "RETURNING exchange_account_id", (exchange,))


def deposit(tx_id: str, amount: float = 0.5, *, status: str = "ok", ts: int = 1_741_000_000_000,
            currency: str = "BTC", txid: str | None = "0xabc") -> dict:
    """A unified transaction as ccxt's fetch_deposits gives it."""
    return {"info": {"id": tx_id}, "id": tx_id, "txid": txid, "type": "deposit", "currency": currency,
            "network": "BTC" if txid else None, "amount": amount, "status": status, "timestamp": ts,
            "datetime": None, "address": None, "fee": {"cost": 0.0, "currency": currency}}


def entry(entry_id: str, kind: str, direction: str, amount: float, currency: str = "USD", *,
          ts: int = 1_741_000_000_000, fee: float = 0.0) -> dict:
    """A unified ledger entry as ccxt's fetch_ledger gives it."""
    return {"info": {}, "id": entry_id, "direction": direction, "account": None, "referenceId": "R" + entry_id,
            "referenceAccount": None, "type": kind, "currency": currency, "amount": amount, "before": None,
            "after": None, "status": "ok", "timestamp": ts, "datetime": None,
            "fee": {"cost": fee, "currency": currency}}


def record(conn, acct, entries, source="rest", now=T0) -> dict:
    return one(conn, "SELECT * FROM lth_pvr.record_exchange_transactions(%s, %s, %s, %s)",
               (acct, source, Jsonb(entries), now))


def balance(conn, acct, snapshot: dict, source="rest", now=T0) -> int:
    return scalar(conn, "SELECT lth_pvr.record_exchange_balances(%s, %s, %s, %s)", (acct, source, Jsonb(snapshot), now))


def test_the_same_deposit_twice_is_one_row_and_two_equal_deposits_are_two(postgresql, db_url):
    acct = account(postgresql, "binance")
    postgresql.commit()
    watch = listener(db_url, "lth_pvr_deposit")
    first, second = deposit("d1"), deposit("d2")  # same amount, same moment, same chain: two deposits
    assert record(postgresql, acct, [first, second, first])["recorded"] == 2
    postgresql.commit()
    notes = received(watch, expect=2)
    assert sorted(json.loads(p)["transaction_id"] for _, p in notes) == ["d1", "d2"]
    assert {json.loads(p)["kind"] for _, p in notes} == {"crypto"}
    assert record(postgresql, acct, [first, second])["recorded"] == 0
    postgresql.commit()
    assert received(watch) == []
    deposits = rows(postgresql, "SELECT transaction_id, amount, kind, exchange FROM lth_pvr.v_deposits ORDER BY 1")
    assert deposits == [{"transaction_id": t, "amount": Decimal("0.5"), "kind": "crypto", "exchange": "binance"}
                        for t in ("d1", "d2")]


def test_a_pending_deposit_is_listed_unconfirmed_then_notified_once_when_ok(postgresql, db_url):
    acct = account(postgresql, "binance")
    postgresql.commit()
    watch = listener(db_url, "lth_pvr_deposit")
    assert record(postgresql, acct, [deposit("d1", status="pending")])["pending"] == 1
    postgresql.commit()
    assert received(watch) == []
    assert one(postgresql, "SELECT transaction_id, confirmed, transaction_hash FROM lth_pvr.v_deposits") == \
        {"transaction_id": None, "confirmed": False, "transaction_hash": "0xabc"}
    record(postgresql, acct, [deposit("d1", status="pending")])  # read again while confirming
    record(postgresql, acct, [deposit("d1")])
    record(postgresql, acct, [deposit("d1")])
    postgresql.commit()
    assert [json.loads(p)["transaction_id"] for _, p in received(watch, expect=1)] == ["d1"]
    assert received(watch) == []
    assert rows(postgresql, "SELECT transaction_id, confirmed FROM lth_pvr.v_deposits") == \
        [{"transaction_id": "d1", "confirmed": True}]


def test_failed_and_canceled_deposits_are_not_deposits(postgresql):
    acct = account(postgresql, "binance")
    result = record(postgresql, acct, [deposit("d1", status="failed"), deposit("d2", status="canceled")])
    assert (result["recorded"], result["pending"]) == (0, 0)
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.v_deposits") == 0


def test_a_deposit_id_equal_on_two_exchanges_is_two_rows(postgresql):
    kraken, binance = account(postgresql, "kraken"), account(postgresql, "binance")
    assert record(postgresql, kraken, [deposit("same")])["recorded"] == 1
    assert record(postgresql, binance, [deposit("same")])["recorded"] == 1
    assert rows(postgresql, "SELECT exchange FROM lth_pvr.v_deposits ORDER BY 1") == \
        [{"exchange": "binance"}, {"exchange": "kraken"}]


def test_ledger_entries_take_the_ledger_words_and_sides(postgresql):
    acct = account(postgresql, "kraken")
    entries = [entry("L1", "transaction", "in", 1000), entry("L2", "trade", "out", 90, fee=0.2),
               entry("L3", "trade", "in", 0.001, "BTC"), entry("L4", "transaction", "out", 0.0005, "BTC"),
               entry("L5", "margin", "out", 1)]
    assert record(postgresql, acct, entries)["recorded"] == 5
    got = rows(postgresql, "SELECT transaction_id, transaction_type, debit_value, credit_value, fee_value "
                           "FROM lth_pvr.account_transactions ORDER BY 1")
    assert [(r["transaction_id"], r["transaction_type"]) for r in got] == [
        ("L1", "FIAT_DEPOSIT"), ("L2", "TRADE"), ("L3", "TRADE"), ("L4", "BLOCKCHAIN_SEND"), ("L5", "MARGIN")]
    assert (got[1]["debit_value"], got[1]["credit_value"], got[1]["fee_value"]) == (Decimal("90"), None, Decimal("0.2"))
    assert one(postgresql, "SELECT kind, amount FROM lth_pvr.v_deposits") == {"kind": "fiat", "amount": Decimal("1000")}
    # A word no row names is recorded, and alerted as any unknown type.
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.alerts(%s) WHERE name = 'ledger_unknown_transaction_type'",
                  (at(seconds=1),)) == 1


def test_the_cursor_follows_the_newest_entry_but_never_passes_a_pending_one(postgresql):
    acct = account(postgresql, "binance")
    assert record(postgresql, acct, [deposit("d1", ts=1_741_000_000_000)])["next_since"].timestamp() == 1_741_000_000
    moved = record(postgresql, acct, [deposit("d2", status="pending", ts=1_741_000_100_000),
                                      deposit("d3", ts=1_741_000_200_000)])
    assert moved["next_since"].timestamp() == 1_741_000_100  # d2 is read again until its final word
    assert record(postgresql, acct, [], "rest")["next_since"].timestamp() == 1_741_000_100  # never back
    assert record(postgresql, acct, [deposit("d9", ts=1_741_009_000_000)], "rescan")["next_since"].timestamp() \
        == 1_741_000_100  # the re-scan leaves it


def test_balances_take_free_used_total_and_never_go_back_in_time(postgresql):
    acct = account(postgresql, "kraken")
    snap = {"info": {}, "timestamp": None, "datetime": None,
            "USD": {"free": 600.0, "used": 400.0, "total": 1000.0}, "BTC": {"free": 0.5, "used": None, "total": 0.5},
            "free": {"USD": 600.0}, "used": {"USD": 400.0}, "total": {"USD": 1000.0}}
    assert balance(postgresql, acct, snap, now=at(seconds=10)) == 2
    assert rows(postgresql, "SELECT currency, available, reserved, total, exchange FROM lth_pvr.v_balances ORDER BY 1") == [
        {"currency": "BTC", "available": Decimal("0.5"), "reserved": Decimal("0"), "total": Decimal("0.5"), "exchange": "kraken"},
        {"currency": "USD", "available": Decimal("600.0"), "reserved": Decimal("400.0"), "total": Decimal("1000.0"),
         "exchange": "kraken"}]
    older = {**snap, "USD": {"free": 1000.0, "used": 0.0, "total": 1000.0}}
    assert balance(postgresql, acct, older, now=at(seconds=5)) == 0  # a read that began earlier, answered later
    stamped = {**older, "timestamp": int(at(seconds=20).timestamp() * 1000)}
    assert balance(postgresql, acct, stamped, "ws", now=at(seconds=1)) == 2  # the exchange's own time rules
    assert scalar(postgresql, "SELECT available FROM lth_pvr.balances WHERE currency = 'USD'") == Decimal("1000.0")


def test_a_ccxt_account_is_asked_and_claimed_for_its_ledger_sync(postgresql):
    acct = account(postgresql, "coinbase")
    assert scalar(postgresql, "SELECT lth_pvr.request_ledger_sync(%s, %s)", (acct, T0)) == 1
    [claim] = rows(postgresql, "SELECT * FROM lth_pvr.claim_ledger_syncs('w', %s, 10, %s)", ([acct], T0))
    assert claim["exchange_account_id"] == acct and claim["newest_event_at"] is None
    postgresql.execute("SELECT lth_pvr.record_exchange_ledger_synced(%s, true, %s)", (acct, at(seconds=1)))
    cursor = one(postgresql, "SELECT synced_at, rescanned_at, sync_requested_at, sync_claimed_at "
                             "FROM lth_pvr.ledger_cursors WHERE exchange_account_id = %s", (acct,))
    assert cursor == {"synced_at": at(seconds=1), "rescanned_at": at(seconds=1), "sync_requested_at": None,
                      "sync_claimed_at": None}


def test_a_balance_read_with_totals_only_asks_for_a_rest_read_when_a_total_moved(postgresql):
    acct = account(postgresql, "kraken")
    balance(postgresql, acct, {"info": {}, "BTC": {"free": 1.0, "used": 0.0, "total": 1.0}})
    totals_only = {"info": {}, "BTC": {"free": None, "used": None, "total": 1.0}}
    assert balance(postgresql, acct, totals_only, "ws", now=at(seconds=1)) == 0
    assert scalar(postgresql, "SELECT max(sync_requested_at) FROM lth_pvr.ledger_cursors") is None  # unchanged: quiet
    moved = {"info": {}, "BTC": {"free": None, "used": None, "total": 1.5}}
    assert balance(postgresql, acct, moved, "ws", now=at(seconds=2)) == 0
    assert scalar(postgresql, "SELECT max(sync_requested_at) FROM lth_pvr.ledger_cursors") == at(seconds=2)
    assert scalar(postgresql, "SELECT total FROM lth_pvr.balances") == Decimal("1.0")  # never a guess
