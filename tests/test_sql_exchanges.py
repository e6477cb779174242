"""The exchange seam in SQL (issue 25): accounts per exchange, exchange ids unique per exchange, pairs and
prices per exchange, and ccxt's unified orders and trades recorded with VALR's rules (exchange_payload at
the entry of the recording path). The payloads are ccxt's own: built by ccxt's safe_order / safe_trade,
as its exchange classes return them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import ccxt
import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.sql import (
    T0, at, claim, constraint_of, events, fire_age, insert_order, lease, one, order, replacement, rows, scalar,
)

CCXT = ccxt.binance()  # safe_order / safe_trade are the base class's: the same unified structure for all


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def ccxt_order(ext: str, status: str, *, client: uuid.UUID | None = None, amount: str = "0.001",
               filled: str = "0", price: str | None = "90000", symbol: str = "BTC/USDT", kind: str = "limit",
               when: datetime = T0, info: dict | None = None) -> dict[str, Any]:
    """ccxt's unified order (numbers as ccxt returns them: floats, remaining derived by ccxt)."""
    return CCXT.safe_order({
        "id": ext, "clientOrderId": str(client) if client else None, "timestamp": ms(T0),
        "datetime": CCXT.iso8601(ms(T0)), "lastUpdateTimestamp": ms(when), "symbol": symbol, "type": kind,
        "side": "buy", "price": price, "amount": amount, "filled": filled, "status": status,
        "info": info or {"orderId": ext}})


def ccxt_trade(trade_id: str, ext: str, amount: str, *, price: str = "90000", fee: str = "0.036",
               symbol: str = "BTC/USDT", when: datetime = T0) -> dict[str, Any]:
    return CCXT.safe_trade({
        "id": trade_id, "order": ext, "timestamp": ms(when), "datetime": CCXT.iso8601(ms(when)), "symbol": symbol,
        "side": "buy", "type": "limit", "takerOrMaker": "maker", "price": price, "amount": amount,
        "fee": {"cost": fee, "currency": "USDT"}, "info": {"id": trade_id}})


def market(symbol: str, *, amount_min: float, cost_min: float, amount_tick: float = 1e-05,
           price_tick: float = 0.01) -> dict[str, Any]:
    """One value of ccxt's load_markets(), precision as tick sizes."""
    base, quote = symbol.split("/")
    return {"id": base + quote, "symbol": symbol, "base": base, "quote": quote, "type": "spot", "spot": True,
            "active": True, "precision": {"amount": amount_tick, "price": price_tick},
            "limits": {"amount": {"min": amount_min, "max": 9000.0}, "cost": {"min": cost_min, "max": None},
                       "price": {"min": None, "max": None}}, "info": {}}


def account(conn, exchange: str, credential_ref: str | None = None, subaccount_id: str = "") -> uuid.UUID:
    return scalar(conn, "INSERT INTO lth_pvr.exchange_accounts (exchange, credential_ref, subaccount_id) "
                        "VALUES (%s, %s, %s) RETURNING exchange_account_id", (exchange, credential_ref, subaccount_id))


def placed(conn, acct: uuid.UUID, ext: str, *, pair: str = "BTC/USDT", **columns) -> uuid.UUID:
    """A limit order of a ccxt account, claimed and accepted: record_placement with ccxt's create_order answer."""
    order_id = insert_order(conn, acct, pair=pair, price=columns.pop("price", "90000"),
                            qty=columns.pop("qty", "0.001"), created_at=T0, updated_at=T0, **columns)
    lease(conn, "w1", T0)
    assert order_id in {c["exchange_order_id"] for c in claim(conn, "w1", T0, accounts=[acct])}
    answer = ccxt_order(ext, "open", client=order(conn, order_id)["customer_order_id"], symbol=pair)
    assert one(conn, "SELECT * FROM lth_pvr.record_placement(%s, %s, NULL, %s, %s)",
               (order_id, ext, Jsonb(answer), T0))["status"] == "submitted"
    return order_id


def session(conn, acct: uuid.UUID) -> int:
    sid = scalar(conn, "SELECT lth_pvr.session_open('w1', %s, %s)", (acct, T0))
    rows(conn, "SELECT * FROM lth_pvr.session_authenticated(%s, %s)", (sid, T0))
    return sid


def read(conn, sid: int, orders=(), trades=(), now: datetime = T0) -> list[dict]:
    return rows(conn, "SELECT * FROM lth_pvr.record_exchange_events(%s, %s, %s, %s)",
                (sid, Jsonb(list(orders)), Jsonb(list(trades)), now))


def fills(conn, order_id) -> list[dict]:
    return rows(conn, "SELECT trade_id, qty, fee, fee_currency, exchange FROM lth_pvr.order_fills "
                      "WHERE exchange_order_id = %s ORDER BY fill_id", (order_id,))


# -- accounts -------------------------------------------------------------------------------------------

def test_an_unknown_exchange_is_refused_by_name(postgresql):
    assert constraint_of(postgresql, "INSERT INTO lth_pvr.exchange_accounts (exchange) VALUES ('bitstamp')",
                         ()) == "exchange_must_be_known"
    assert scalar(postgresql, "SELECT exchange FROM lth_pvr.exchange_accounts WHERE exchange_account_id = %s",
                  (account(postgresql, "coinbase"),)) == "coinbase"


@pytest.mark.parametrize("ref, ok", [("BINANCE_2", True), ("alice", True), ("2KEY", False), ("MY-KEY", False),
                                     ("A" * 41, False), ("", False)])
def test_a_credential_ref_is_a_name_usable_in_an_environment_variable(postgresql, ref, ok):
    statement = "INSERT INTO lth_pvr.exchange_accounts (exchange, credential_ref) VALUES ('binance', %s)"
    if ok:
        postgresql.execute(statement, (ref,))
    else:
        assert constraint_of(postgresql, statement, (ref,)) == "credential_ref_must_be_an_environment_name"


def test_only_valr_accounts_have_a_subaccount_id(postgresql):
    assert constraint_of(postgresql, "INSERT INTO lth_pvr.exchange_accounts (exchange, subaccount_id) "
                                     "VALUES ('kraken', '123')", ()) == "subaccount_id_only_on_valr"


def test_the_same_subaccount_on_two_exchanges_is_two_accounts_and_one_key_is_one_account(postgresql):
    valr, binance = account(postgresql, "valr"), account(postgresql, "binance")
    assert valr != binance
    account(postgresql, "binance", "BINANCE_ALICE")  # another key of the same exchange: another account
    for ref in (None, "BINANCE", "binance"):  # NULL is the exchange's default key, named BINANCE
        with pytest.raises(psycopg.errors.UniqueViolation) as caught, postgresql.transaction():
            account(postgresql, "binance", ref)
        assert caught.value.diag.constraint_name == "account_must_be_unique"


def test_an_accounts_exchange_is_fixed_once_it_has_orders_even_for_a_superuser(postgresql):
    acct = account(postgresql, "binance")
    postgresql.execute("UPDATE lth_pvr.exchange_accounts SET exchange = 'kraken' WHERE exchange_account_id = %s",
                       (acct,))  # no history yet: a correction
    insert_order(postgresql, acct, pair="BTC/USDT", price="90000", qty="0.001")
    assert constraint_of(postgresql, "UPDATE lth_pvr.exchange_accounts SET exchange = 'binance' "
                                     "WHERE exchange_account_id = %s", (acct,)) == "account_exchange_must_not_change"


def test_account_exchanges_is_what_the_worker_routes_by(postgresql):
    kraken = account(postgresql, "kraken", "KRAKEN_BOB")
    assert one(postgresql, "SELECT exchange, credential_ref, subaccount_id FROM lth_pvr.account_exchanges(%s)",
               ([kraken],)) == {"exchange": "kraken", "credential_ref": "KRAKEN_BOB", "subaccount_id": ""}


# -- ccxt's words, recorded with the same rules ---------------------------------------------------------

def test_a_ccxt_order_from_placement_to_filled_through_its_account_stream(postgresql):
    acct = account(postgresql, "binance")
    order_id = placed(postgresql, acct, "8001")
    assert order(postgresql, order_id)["raw"]["placement"]["orderStatusType"] == "Placed"
    sid = session(postgresql, acct)
    client = order(postgresql, order_id)["customer_order_id"]
    t1 = ccxt_trade("501", "8001", "0.0004", fee="-0.0036", when=at(seconds=5))
    result = read(postgresql, sid, [ccxt_order("8001", "open", client=client, filled="0.0004", when=at(seconds=5))],
                  [t1], now=at(seconds=5))
    assert [(r["kind"], r["outcome"], r["new_status"]) for r in result] == [
        ("trade", "recorded", "submitted"), ("order_status", "unchanged", "submitted")]
    assert fills(postgresql, order_id) == [{"trade_id": "501", "qty": Decimal("0.0004"), "fee": Decimal("-0.0036"),
                                            "fee_currency": "USDT", "exchange": "binance"}]  # a rebate
    t2 = ccxt_trade("502", "8001", "0.0006", when=at(seconds=9))
    result = read(postgresql, sid, [ccxt_order("8001", "closed", client=client, filled="0.001", when=at(seconds=9))],
                  [t1, t2], now=at(seconds=9))
    assert [(r["kind"], r["outcome"]) for r in result] == [("trade", "duplicate"), ("trade", "recorded"),
                                                           ("order_status", "applied")]
    done = order(postgresql, order_id)
    assert (done["status"], done["filled_qty"], done["avg_price"]) == ("filled", Decimal("0.001"), Decimal("90000"))
    assert done["ws_monitored_at"] is not None
    assert scalar(postgresql, "SELECT events FROM lth_pvr.ws_sessions WHERE session_id = %s", (sid,)) == 5


def test_a_trade_racing_the_placement_answer_finds_its_order_by_the_reads_client_order_id(postgresql):
    acct = account(postgresql, "kraken")
    order_id = insert_order(postgresql, acct, pair="BTC/USD", price="90000", qty="0.001")
    lease(postgresql, "w1", T0)
    claim(postgresql, "w1", T0, accounts=[acct])
    postgresql.execute("SELECT lth_pvr.begin_placement(%s, %s)", (order_id, T0))
    client = order(postgresql, order_id)["customer_order_id"]
    read(postgresql, session(postgresql, acct),
         [ccxt_order("OK-1", "open", client=client, filled="0.001", symbol="BTC/USD")],
         [ccxt_trade("T-1", "OK-1", "0.001", symbol="BTC/USD")])
    found = order(postgresql, order_id)
    assert (found["status"], found["ext_order_id"], found["filled_qty"]) == ("submitted", "OK-1", Decimal("0.001"))


def test_the_same_trade_id_on_two_exchanges_is_two_fills_and_twice_on_one_is_one(postgresql):
    binance, kraken = account(postgresql, "binance"), account(postgresql, "kraken")
    on_binance, on_kraken = placed(postgresql, binance, "77"), placed(postgresql, kraken, "77", pair="BTC/USD")
    for acct, ext, symbol in ((binance, "77", "BTC/USDT"), (kraken, "77", "BTC/USD")):
        for _ in range(2):
            read(postgresql, session(postgresql, acct), [], [ccxt_trade("42", ext, "0.0002", symbol=symbol)])
    assert [f["exchange"] for f in fills(postgresql, on_binance) + fills(postgresql, on_kraken)] == ["binance", "kraken"]
    # A superuser's plain INSERT cannot record it twice either, whatever exchange it claims.
    with pytest.raises(psycopg.errors.UniqueViolation) as caught, postgresql.transaction():
        postgresql.execute("INSERT INTO lth_pvr.order_fills (trade_id, exchange_order_id, price, qty, traded_at, "
                           "source, exchange) VALUES ('42', %s, 90000, 0.0002, now(), 'ws', 'coinbase')", (on_binance,))
    assert caught.value.diag.constraint_name == "trade_id_must_be_unique"


def test_closed_with_quantity_remaining_is_cancelled_and_the_fallback_replaces_exactly_that(postgresql):
    acct = account(postgresql, "kraken")
    order_id = placed(postgresql, acct, "K9", pair="BTC/USD", fallback_after="5 minutes")
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET submitted_at = %s WHERE exchange_order_id = %s",
                       (T0, order_id))
    sid = session(postgresql, acct)
    read(postgresql, sid, [], [ccxt_trade("k1", "K9", "0.0003", symbol="BTC/USD")], now=at(minutes=1))
    fire_age(postgresql, order_id)
    # The exchange executed 0.0004 (a trade not received yet) and closed the rest: 0.0006 is replaced.
    read(postgresql, sid, [ccxt_order("K9", "closed", filled="0.0004", symbol="BTC/USD", when=at(minutes=7))],
         now=at(minutes=7))
    original = order(postgresql, order_id)
    assert (original["status"], original["fallback_outcome"]) == ("cancelled", "replaced")
    market_order = replacement(postgresql, order_id)
    assert (market_order["order_type"], market_order["qty"], market_order["pair"], market_order["exchange"]) == (
        "market", Decimal("0.0006"), "BTC/USD", "kraken")
    assert scalar(postgresql, "SELECT lth_pvr.intent_executes_at_most(%s)", (original["intent_id"],)) \
        <= original["qty"]


@pytest.mark.parametrize("status, filled, final", [("canceled", "0.0004", "cancelled"), ("expired", "0", "cancelled"),
                                                   ("closed", "0.001", "filled")])
def test_ccxt_status_words_end_an_order_as_the_exchange_said(postgresql, status, filled, final):
    acct = account(postgresql, "coinbase")
    order_id = placed(postgresql, acct, "cb-1", pair="BTC/USD")
    read(postgresql, session(postgresql, acct), [ccxt_order("cb-1", status, filled=filled, symbol="BTC/USD")])
    assert order(postgresql, order_id)["status"] == final


def test_rejected_is_failed_with_the_exchanges_reason(postgresql):
    acct = account(postgresql, "binance")
    order_id = placed(postgresql, acct, "rj")
    read(postgresql, session(postgresql, acct),
         [ccxt_order("rj", "rejected", info={"rejectReason": "INSUFFICIENT_BALANCE"})])
    found = order(postgresql, order_id)
    assert (found["status"], found["failed_reason"]) == ("failed", "INSUFFICIENT_BALANCE")


@pytest.mark.parametrize("status", ["pending_cancel", None])
def test_an_unknown_ccxt_status_changes_nothing(postgresql, status):
    acct = account(postgresql, "binance")
    order_id = placed(postgresql, acct, "u1")
    [row] = read(postgresql, session(postgresql, acct), [ccxt_order("u1", status, filled="0.001")])
    assert (row["outcome"], row["new_status"]) == ("unknown_status", "submitted")
    assert order(postgresql, order_id)["status"] == "submitted"


def test_closed_with_nothing_readable_remaining_is_not_guessed(postgresql):
    acct = account(postgresql, "kraken")
    order_id = placed(postgresql, acct, "K2", pair="BTC/USD")
    answer = {**ccxt_order("K2", "closed", symbol="BTC/USD"), "amount": None, "filled": None, "remaining": None}
    [row] = read(postgresql, session(postgresql, acct), [answer])
    assert row["outcome"] == "unknown_status" and order(postgresql, order_id)["status"] == "submitted"


def test_a_poll_and_a_lost_placements_lookup_take_ccxt_payloads(postgresql):
    acct = account(postgresql, "binance")
    order_id = placed(postgresql, acct, "p1")
    assert one(postgresql, "SELECT * FROM lth_pvr.record_poll(%s, 'ok', %s, NULL, %s)",
               (order_id, Jsonb(ccxt_order("p1", "closed", filled="0.001")), at(minutes=1)))["new_status"] == "filled"
    # A lost placement: fetch_order by our client order id finds it open on the exchange.
    lost = insert_order(postgresql, acct, pair="BTC/USDT", price="90000", qty="0.001")
    lease(postgresql, "w1", T0)
    claim(postgresql, "w1", T0, accounts=[acct])
    postgresql.execute("SELECT lth_pvr.begin_placement(%s, %s)", (lost, T0))
    client = order(postgresql, lost)["customer_order_id"]
    one(postgresql, "SELECT * FROM lth_pvr.record_poll(%s, 'ok', %s, NULL, %s)",
        (lost, Jsonb(ccxt_order("p2", "open", client=client)), at(minutes=1)))
    assert (order(postgresql, lost)["status"], order(postgresql, lost)["ext_order_id"]) == ("submitted", "p2")


def test_an_open_orders_list_from_ccxt_reconciles_and_names_the_missing(postgresql):
    acct = account(postgresql, "binance")
    listed, missing = placed(postgresql, acct, "L1"), placed(postgresql, acct, "L2")
    result = rows(postgresql, "SELECT * FROM lth_pvr.reconcile_open_orders(%s, 'poll', %s, %s)",
                  (acct, Jsonb([ccxt_order("L1", "open")]), at(minutes=5)))
    assert {(r["exchange_order_id"], r["outcome"]) for r in result} == {(listed, "unchanged"), (missing, "missing")}


# -- pairs and prices per exchange ----------------------------------------------------------------------

def test_pair_rules_per_exchange_each_order_checked_against_its_own(postgresql):
    postgresql.execute("SELECT * FROM lth_pvr.refresh_exchange_pairs('binance', %s, %s)",
                       (Jsonb([market("BTC/USDT", amount_min=1e-05, cost_min=5.0)]), T0))
    # load_markets() returns a dict by symbol: its values are taken.
    postgresql.execute("SELECT * FROM lth_pvr.refresh_exchange_pairs('kraken', %s, %s)",
                       (Jsonb({"BTC/USDT": market("BTC/USDT", amount_min=0.0001, cost_min=0.5)}), T0))
    binance, kraken = account(postgresql, "binance"), account(postgresql, "kraken")
    small = {"pair": "BTC/USDT", "qty": "0.00005", "price": "90000"}   # 4.5 USDT
    assert constraint_of(postgresql, "INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, "
                         "side, price, qty) VALUES (%s, gen_random_uuid(), %s, 'BUY', %s, %s)",
                         (binance, small["pair"], small["price"], small["qty"])) == "value_must_reach_min_quote_amount"
    assert constraint_of(postgresql, "INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, "
                         "side, price, qty) VALUES (%s, gen_random_uuid(), %s, 'BUY', %s, %s)",
                         (kraken, small["pair"], small["price"], small["qty"])) == "qty_must_reach_min_base_amount"
    insert_order(postgresql, binance, pair="BTC/USDT", qty="0.0001", price="90000")  # 9 USDT, 0.0001 BTC
    insert_order(postgresql, kraken, pair="BTC/USDT", qty="0.0001", price="90000")
    # Kraken's refresh made no BTC/USD of Binance's known: an unknown pair on Binance is now refused.
    assert constraint_of(postgresql, "INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, "
                         "side, price, qty) VALUES (%s, gen_random_uuid(), 'ETH/USDT', 'BUY', 3000, 1)",
                         (binance,)) == "pair_must_be_known_to_valr"
    assert [r["pair"] for r in rows(postgresql, "SELECT pair FROM lth_pvr.pair_rules('kraken')")] == ["BTC/USDT"]
    assert rows(postgresql, "SELECT pair FROM lth_pvr.pair_rules()") == []  # VALR's: none refreshed


@pytest.mark.parametrize("exchange", ["valr", "bitstamp"])
def test_ccxt_pairs_and_prices_refuse_an_exchange_not_reached_through_ccxt(postgresql, exchange):
    for statement in ("SELECT * FROM lth_pvr.refresh_exchange_pairs(%s, '[{}]')",
                      "SELECT * FROM lth_pvr.record_exchange_prices(%s, '[]')"):
        assert constraint_of(postgresql, statement, (exchange,)) == "exchange_must_be_reached_through_ccxt"


def test_a_price_fires_only_its_own_exchanges_orders(postgresql):
    binance, kraken = account(postgresql, "binance"), account(postgresql, "kraken")
    on_binance = placed(postgresql, binance, "b1", fallback_price_move="0.01", fallback_price_confirm_ms=0)
    on_kraken = placed(postgresql, kraken, "k1", fallback_price_move="0.01", fallback_price_confirm_ms=0)
    assert scalar(postgresql, "SELECT pairs FROM lth_pvr.prices_to_watch('kraken', %s)", (T0,)) == ["BTC/USDT"]
    ticker = {"symbol": "BTC/USDT", "bid": 92000.0, "ask": 92100.0, "last": 92050.0, "timestamp": ms(at(seconds=5)),
              "datetime": CCXT.iso8601(ms(at(seconds=5))), "info": {}}
    fired = rows(postgresql, "SELECT * FROM lth_pvr.record_exchange_prices('binance', %s, 'ws', %s)",
                 (Jsonb({"BTC/USDT": ticker}), at(seconds=5)))
    assert [f["exchange_order_id"] for f in fired] == [on_binance]
    assert order(postgresql, on_kraken)["fallback_requested_at"] is None
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.market_prices WHERE exchange = 'binance'") == 1


# -- VALR-only paths -----------------------------------------------------------------------------------

def test_valrs_account_wide_calls_reach_only_the_default_valr_keys_accounts(postgresql):
    binance, primary = account(postgresql, "binance"), account(postgresql, "valr")
    own_key = account(postgresql, "valr", "VALR_ALICE")   # a VALR account with its own key: '' too
    assert scalar(postgresql, "SELECT lth_pvr.request_ledger_sync(%s, %s)", (binance, T0)) == 0
    assert [r["exchange_account_id"] for r in rows(
        postgresql, "SELECT * FROM lth_pvr.claim_ledger_syncs('w1', NULL, 100, %s)", (T0,))] == [primary]
    # GET /v1/account/balances/all names the primary "0": VALR's primary of the default key, nobody else's.
    item = {"currency": "BTC", "available": "1", "reserved": "0", "total": "1", "updatedAt": "2025-03-03T12:00:00Z"}
    postgresql.execute("SELECT lth_pvr.record_balances_all(%s, %s)",
                       (Jsonb([{"account": {"id": "0"}, "balances": [item]}]), T0))
    assert [r["exchange_account_id"] for r in rows(postgresql, "SELECT exchange_account_id FROM lth_pvr.balances")] \
        == [primary]
    run = scalar(postgresql, "INSERT INTO lth_pvr.audit_runs (day, ran_by, requested_at) VALUES ('2025-03-02', 'cli', now()) "
                             "RETURNING audit_run_id")
    assert [r["exchange_account_id"] for r in rows(postgresql, "SELECT * FROM lth_pvr.audit_accounts(%s)", (run,))] \
        == [primary]
    assert own_key not in {binance, primary}
    assert events(postgresql) == []


def test_the_connection_budget_counts_each_exchanges_sessions_apart(postgresql):
    binance, valr = account(postgresql, "binance"), account(postgresql, "valr")
    budget = "SELECT * FROM lth_pvr.session_open_within_budget('w1', %s, 1, %s)"
    assert one(postgresql, budget, (binance, T0))["session_id"] is not None
    assert one(postgresql, budget, (valr, T0))["session_id"] is not None    # Binance's did not use VALR's
    assert one(postgresql, budget, (valr, T0))["session_id"] is None


def test_the_metrics_per_exchange(postgresql):
    binance = account(postgresql, "binance")
    account(postgresql, "kraken")
    placed(postgresql, binance, "m1")
    read(postgresql, session(postgresql, binance), [ccxt_order("m1", "closed", filled="0.001", when=at(minutes=2))],
         now=at(minutes=2))
    by_exchange = {r["exchange"]: r for r in rows(postgresql, "SELECT * FROM lth_pvr.metric_exchanges(7, %s)",
                                                  (at(hours=1),))}
    assert (by_exchange["binance"]["total_orders"], by_exchange["binance"]["ws_coverage_pct"],
            by_exchange["binance"]["avg_minutes"]) == (1, Decimal("100.00"), Decimal("2.00"))
    assert (by_exchange["kraken"]["total_orders"], by_exchange["kraken"]["ws_coverage_pct"]) == (0, None)


KRAKEN_WS = __import__("ccxt.pro", fromlist=["kraken"]).kraken()


def kraken_event(client: uuid.UUID, status: str, cum_qty: float, when: str = "2025-03-03T12:07:00.000000Z") -> dict:
    """What ccxt.pro.kraken's watch_orders makes of a later executions event (ids and cumulative figures
    only): symbol None, filled None, amount = cum_qty, clientOrderId from order_userref (0)."""
    return KRAKEN_WS.parse_ws_order({
        "timestamp": when, "order_status": status, "exec_type": status, "order_id": "OK-7", "order_userref": 0,
        "cl_ord_id": str(client), "cum_qty": cum_qty, "cum_cost": cum_qty * 90000, "fee_usd_equiv": 0.01,
        "avg_price": 90000.0})


def test_krakens_cancel_after_fills_states_its_remainder_and_the_fallback_replaces_it(postgresql):
    acct = account(postgresql, "kraken")
    order_id = placed(postgresql, acct, "OK-7", pair="BTC/USD", fallback_after="5 minutes")
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET submitted_at = %s WHERE exchange_order_id = %s",
                       (T0, order_id))
    fire_age(postgresql, order_id)
    client = order(postgresql, order_id)["customer_order_id"]
    [row] = read(postgresql, session(postgresql, acct), [kraken_event(client, "canceled", 0.0004)], now=at(minutes=7))
    assert (row["outcome"], row["new_status"]) == ("applied", "cancelled")
    assert order(postgresql, order_id)["original_qty"] == Decimal("0.001")  # ours, not cum_qty
    assert replacement(postgresql, order_id)["qty"] == Decimal("0.0006")
    # Without our order (the same event handed to record_order_update): the remainder is not guessed.
    assert rows(postgresql, "SELECT lth_pvr.exchange_payload(%s) ? 'remainingQuantity' AS known",
                (Jsonb(kraken_event(client, "canceled", 0.0004)),)) == [{"known": False}]


def test_krakens_filled_event_fills_the_order(postgresql):
    acct = account(postgresql, "kraken")
    order_id = placed(postgresql, acct, "OK-7", pair="BTC/USD")
    client = order(postgresql, order_id)["customer_order_id"]
    read(postgresql, session(postgresql, acct), [kraken_event(client, "filled", 0.001)], now=at(minutes=1))
    assert order(postgresql, order_id)["status"] == "filled"


COINBASE_WS = __import__("ccxt.pro", fromlist=["coinbase"]).coinbase()


def coinbase_event(client: uuid.UUID, status: str, cumulative: str, leaves: str) -> dict:
    """What ccxt.pro.coinbase's watch_orders makes of a `user` channel order update."""
    return COINBASE_WS.parse_ws_order({
        "order_id": "cb-9", "client_order_id": str(client), "cumulative_quantity": cumulative,
        "leaves_quantity": leaves, "avg_price": "90000", "total_fees": "0", "status": status,
        "product_id": "BTC-USD", "creation_time": "2025-03-03T12:00:00.000Z", "order_side": "BUY",
        "order_type": "Limit"})


def test_coinbases_order_updates_state_the_ordered_quantity_as_filled_plus_leaves(postgresql):
    acct = account(postgresql, "coinbase")
    order_id = placed(postgresql, acct, "cb-9", pair="BTC/USD", fallback_after="5 minutes")
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET submitted_at = %s WHERE exchange_order_id = %s",
                       (T0, order_id))
    client = order(postgresql, order_id)["customer_order_id"]
    sid = session(postgresql, acct)
    [opened] = read(postgresql, sid, [coinbase_event(client, "OPEN", "0", "0.001")], now=at(seconds=1))
    assert opened["outcome"] == "unchanged"
    fire_age(postgresql, order_id)
    [ended] = read(postgresql, sid, [coinbase_event(client, "CANCELLED", "0.0004", "0.0006")], now=at(minutes=7))
    assert (ended["outcome"], ended["new_status"]) == ("applied", "cancelled")
    assert order(postgresql, order_id)["original_qty"] == Decimal("0.001")
    assert replacement(postgresql, order_id)["qty"] == Decimal("0.0006")


def test_valrs_audit_compares_valr_accounts_only(postgresql):
    """VALR's daily audit reads VALR's history: a Kraken order's fills (which VALR's history never holds)
    are not findings. Before, every account's fills of the day were compared: `unknown_fill` each."""
    kraken = account(postgresql, "kraken")
    order_id = placed(postgresql, kraken, "OK-7", pair="BTC/USD")
    read(postgresql, session(postgresql, kraken), [], [ccxt_trade("T-7", "OK-7", "0.001", symbol="BTC/USD")])
    assert fills(postgresql, order_id)
    run = scalar(postgresql, "SELECT audit_run_id FROM lth_pvr.begin_audit_run(%s, NULL, 'test', %s)", (T0.date(), T0))
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.compare_audit_run(%s, %s)", (run, T0)) == 0
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.audit_findings WHERE audit_run_id = %s", (run,)) == 0


def test_binance_numbers_trades_per_symbol_so_one_id_on_two_symbols_is_two_fills(postgresql):
    """Binance's trade ids are unique per symbol: trade 42 of BTC/USDT and trade 42 of ETH/USDT are two
    fills of one account; trade 42 of BTC/USDT twice is one. (exchange, trade_id) alone dropped the second."""
    binance = account(postgresql, "binance")
    btc, eth = placed(postgresql, binance, "9001"), placed(postgresql, binance, "9002", pair="ETH/USDT")
    sid = session(postgresql, binance)
    for _ in range(2):
        read(postgresql, sid, [], [ccxt_trade("42", "9001", "0.0002", symbol="BTC/USDT"),
                                   ccxt_trade("42", "9002", "0.01", symbol="ETH/USDT", price="3000")])
    assert [(f["trade_id"], f["qty"]) for f in fills(postgresql, btc) + fills(postgresql, eth)] == [
        ("42", Decimal("0.0002")), ("42", Decimal("0.01"))]
    assert scalar(postgresql, "SELECT array_agg(id_scope ORDER BY id_scope) FROM lth_pvr.order_fills") == [
        "BTC/USDT", "ETH/USDT"]
