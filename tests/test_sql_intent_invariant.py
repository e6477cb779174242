"""An intent never executes more than it asked, for every writer (issue 21, items 1, 2, 12): a person's
plain INSERT, new_order, a registered order, a superuser's UPDATE are refused by name; concurrent
writers of one intent are serialised; a person places what an intent lacks with place_intent_remainder
(sized by the database); VALR's word is never refused, and an intent that executed more than it asked,
or a market order VALR ended short, raises an alert."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import psycopg

from tests.harness import wait_for
from tests.support.sql import (
    at, cancelled, claim, constraint_of, fallback_order, fill, fire_age, lease, make_account, one, order, place,
    replacement, rows, scalar, settle, status_payload, trade_payload, update, valr_pairs,
)

INSERT_MARKET = """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, qty, order_type)
                   VALUES (%s, %s, 'BTCZAR', 'BUY', %s, 'market')"""


def market_filled(conn, order_id, ext, qty, now):
    """A pending market order claimed, placed and filled (its trade and VALR's Filled)."""
    account = order(conn, order_id)["exchange_account_id"]
    claim(conn, "w1", now, accounts=[account])
    place(conn, order_id, ext, now=now)
    fill(conn, account, trade_payload(f"t-{ext}", ext, qty), now=now)
    update(conn, account, dict(status_payload(ext, "Filled", original=qty, remaining="0"), originalPrice="0"), now=now)


def executed_intent(conn, account, qty="0.0004"):
    """An intent of `qty` filled by a limit fill and its fallback's market replacement (the reviewer's case)."""
    first, ext = fallback_order(conn, account, qty=qty, after="5 minutes")
    fill(conn, account, trade_payload("t1", ext, "0.0001"), now=at(minutes=1))
    fire_age(conn, first)
    update(conn, account, cancelled(ext, original=qty, remaining=str(Decimal(qty) - Decimal("0.0001"))),
           now=at(minutes=7))
    market = replacement(conn, first)["exchange_order_id"]
    market_filled(conn, market, "valr-m1", str(Decimal(qty) - Decimal("0.0001")), at(minutes=7))
    return first, order(conn, first)["intent_id"]


def alert(conn, name, now):
    found = rows(conn, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = %s", (now, name))
    return found[0] if found else None


def test_every_writer_of_an_executed_intent_is_refused_by_name(postgresql, operator_url):
    account = make_account(postgresql, "acc1")
    first, intent = executed_intent(postgresql, account)
    postgresql.commit()
    refused = "intent_must_not_execute_more_than_asked"
    with psycopg.connect(operator_url, autocommit=True) as op:
        # A valr_operator member's plain INSERT naming no order it replaces, and new_order with the intent.
        assert constraint_of(op, INSERT_MARKET, (account, intent, "0.0004")) == refused
        assert constraint_of(op, "SELECT lth_pvr.new_order('acc1', 'BTCZAR', 'BUY', 1000000, 0.0004, %s)",
                             (intent,)) == refused
        # An order placed elsewhere, registered as submitted under the intent, counts too.
        assert constraint_of(op, """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side,
                                        price, qty, status, ext_order_id)
                                    VALUES (%s, %s, 'BTCZAR', 'BUY', 1000000, 0.0001, 'submitted', 'elsewhere')""",
                             (account, intent)) == refused
    # A superuser's UPDATE: what the intent asked (its first order's qty) below what executed.
    assert constraint_of(postgresql, "UPDATE lth_pvr.exchange_orders SET qty = 0.0003 WHERE exchange_order_id = %s",
                         (first,)) == refused
    # A finished order of another intent moved into this one.
    other, other_ext = fallback_order(postgresql, account, qty="0.0002")
    update(postgresql, account, status_payload(other_ext, "Filled", original="0.0002", remaining="0"),
           now=at(minutes=8))
    assert constraint_of(postgresql, "UPDATE lth_pvr.exchange_orders SET intent_id = %s WHERE exchange_order_id = %s",
                         (intent, other)) == refused
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.exchange_orders WHERE intent_id = %s", (intent,)) == 2
    assert scalar(postgresql, "SELECT lth_pvr.intent_executes_at_most(%s)", (intent,)) == Decimal("0.0004")


def test_a_live_order_counts_its_whole_quantity_a_finished_one_what_it_executed(postgresql):
    account = make_account(postgresql)
    first, ext = fallback_order(postgresql, account, qty="0.001")
    intent = order(postgresql, first)["intent_id"]
    fill(postgresql, account, trade_payload("t1", ext, "0.0002"), now=at(seconds=1))
    update(postgresql, account, status_payload(ext, "Partially Filled", remaining="0.0008"), now=at(seconds=1))

    def at_most():
        return scalar(postgresql, """SELECT lth_pvr.order_executes_at_most(o) FROM lth_pvr.exchange_orders o
                                      WHERE o.exchange_order_id = %s""", (first,))

    assert at_most() == Decimal("0.001")  # submitted: 0.0002 executed, 0.0008 it may still execute
    # A hand-lowered qty does not shrink what VALR holds (its originalQuantity): refused.
    assert constraint_of(postgresql, "UPDATE lth_pvr.exchange_orders SET qty = 0.0005 WHERE exchange_order_id = %s",
                         (first,)) == "intent_must_not_execute_more_than_asked"
    update(postgresql, account, cancelled(ext, remaining="0.0007"), now=at(seconds=2))
    assert at_most() == Decimal("0.0003")  # finished: VALR's word is ahead of our fills
    # What is left (0.001 − 0.0003) may be added by hand, exactly, and not a unit more.
    assert constraint_of(postgresql, INSERT_MARKET, (account, intent, "0.0008")) \
        == "intent_must_not_execute_more_than_asked"
    postgresql.execute(INSERT_MARKET, (account, intent, "0.0007"))
    assert scalar(postgresql, "SELECT lth_pvr.intent_executes_at_most(%s)", (intent,)) == Decimal("0.0010")


def test_the_first_order_is_what_the_intent_asked(postgresql):
    account = make_account(postgresql)
    first, ext = fallback_order(postgresql, account, qty="0.0004", now=at(seconds=1))
    intent = order(postgresql, first)["intent_id"]
    update(postgresql, account, status_payload(ext, "Failed", original="0.0004", reason="Insufficient Balance"),
           now=at(seconds=2))
    # A strategy tries again under the same intent: a smaller order is fine, the ask stays the first qty.
    postgresql.execute(INSERT_MARKET, (account, intent, "0.0003"))
    assert scalar(postgresql, "SELECT lth_pvr.intent_asked_qty(%s)", (intent,)) == Decimal("0.0004")
    assert scalar(postgresql, "SELECT qty FROM lth_pvr.v_intents WHERE intent_id = %s", (intent,)) == Decimal("0.0004")


def test_concurrent_writers_of_one_intent_are_checked_one_after_the_other(postgresql, db_url, operator_url):
    """A superuser lowers what the intent asked while an operator adds what was left: without the
    intent's lock each sees the other's change uncommitted and both pass — 0.0010 for 0.0006 asked."""
    account = make_account(postgresql)
    first, ext = fallback_order(postgresql, account, qty="0.001")
    intent = order(postgresql, first)["intent_id"]
    update(postgresql, account, cancelled(ext, remaining="0.0006"), now=at(seconds=1))  # 0.0004 executed
    postgresql.commit()
    outcome: list[str] = []
    with psycopg.connect(db_url) as admin, psycopg.connect(operator_url, autocommit=True) as op, \
            psycopg.connect(db_url, autocommit=True) as watcher:  # pg_stat_activity is read once per transaction
        admin.execute("UPDATE lth_pvr.exchange_orders SET qty = 0.0006 WHERE exchange_order_id = %s", (first,))
        op_pid = op.info.backend_pid

        def add_what_was_left():
            try:
                op.execute(INSERT_MARKET, (account, intent, "0.0006"))
                outcome.append("accepted")
            except psycopg.errors.CheckViolation as exc:
                outcome.append(exc.diag.constraint_name)

        thread = threading.Thread(target=add_what_was_left)
        thread.start()
        wait_for(lambda: outcome or scalar(watcher, "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                           (op_pid,)) == "Lock", timeout=10, what="the operator's insert waits")
        admin.commit()
        thread.join(10)
    assert outcome == ["intent_must_not_execute_more_than_asked"]
    assert scalar(postgresql, "SELECT lth_pvr.intent_executes_at_most(%s) <= lth_pvr.intent_asked_qty(%s)",
                  (intent, intent))


# -- a person places what an intent lacks --------------------------------------------------------------

def replaced(conn, account, *, executed="0"):
    """A limit order of 0.001 whose age fallback fired after `executed` filled: VALR's Cancelled inserted
    its market replacement, claimed by the worker. Returns (original, replacement, intent)."""
    first, ext = fallback_order(conn, account, after="5 minutes")
    if Decimal(executed):
        fill(conn, account, trade_payload("t1", ext, executed), now=at(minutes=1))
    fire_age(conn, first)
    update(conn, account, cancelled(ext, remaining=str(Decimal("0.001") - Decimal(executed))), now=at(minutes=7))
    market = replacement(conn, first)["exchange_order_id"]
    claim(conn, "w1", at(minutes=7), accounts=[account])
    return first, market, order(conn, first)["intent_id"]


def failed_replacement(conn, account):
    """A fallback's market replacement VALR refused: the replacement_failed alert's case."""
    _, market, intent = replaced(conn, account, executed="0.0003")
    place(conn, market, None, reason="Insufficient Balance", now=at(minutes=7))
    return market, intent


def test_an_operator_places_what_the_intent_lacks_as_the_alert_says(postgresql, operator_url):
    account = make_account(postgresql)
    valr_pairs(postgresql, "BTCZAR")  # no `pair_unchecked` insert row among the new order's events
    failed, intent = failed_replacement(postgresql, account)
    postgresql.commit()
    detail = alert(postgresql, "replacement_failed", at(minutes=8))["detail"]
    assert "lth_pvr.place_intent_remainder" in detail and str(intent) in detail
    with psycopg.connect(operator_url, autocommit=True) as op:
        new = op.execute("SELECT lth_pvr.place_intent_remainder(%s, %s)", (intent, at(minutes=9))).fetchone()[0]
        # Run again at once: the order it placed is live, nothing more is placed.
        assert constraint_of(op, "SELECT lth_pvr.place_intent_remainder(%s)", (intent,)) \
            == "intent_must_have_no_live_order"
    assert alert(postgresql, "replacement_failed", at(minutes=10)) is None  # a person took it over
    assert scalar(postgresql, "SELECT state FROM lth_pvr.v_intents WHERE intent_id = %s", (intent,)) == "open"
    placed = order(postgresql, new)
    assert (placed["status"], placed["order_type"], placed["qty"], placed["side"], placed["replaces_order_id"]) == (
        "pending", "market", Decimal("0.0007"), "BUY", failed)
    assert placed["customer_order_id"] == new
    [event] = rows(postgresql, "SELECT * FROM lth_pvr.order_events WHERE exchange_order_id = %s", (new,))
    assert (event["source"], event["kind"], event["outcome"]) == ("operator", "remainder", "remainder_placed")
    assert event["payload"]["by"].startswith("operator_") and event["payload"]["qty"] == 0.0007
    # The worker places it like any order; once filled the intent has all it asked and nothing is lacking.
    market_filled(postgresql, new, "valr-r1", "0.0007", at(minutes=9))
    assert scalar(postgresql, "SELECT state FROM lth_pvr.v_intents WHERE intent_id = %s", (intent,)) == "filled"
    assert constraint_of(postgresql, "SELECT lth_pvr.place_intent_remainder(%s)", (intent,)) \
        == "intent_must_lack_quantity"


def test_an_operators_own_insert_of_the_right_replacement_is_accepted(postgresql, operator_url):
    """Item 2: the invariant's trigger used to need rights a valr_operator member lacks."""
    account = make_account(postgresql)
    failed, intent = failed_replacement(postgresql, account)
    postgresql.commit()
    with psycopg.connect(operator_url, autocommit=True) as op:
        op.execute("""INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, qty, order_type,
                                                           replaces_order_id)
                      VALUES (%s, %s, 'BTCZAR', 'BUY', 0.0007, 'market', %s)""", (account, intent, failed))
    assert replacement(postgresql, failed)["qty"] == Decimal("0.0007")


def test_place_intent_remainder_refuses_by_name(postgresql):
    account = make_account(postgresql)
    valr_pairs(postgresql, "BTCZAR")  # VALR's minimum 0.0001 BTC (a fresh install holds no pair rules)

    def refused(intent):
        return constraint_of(postgresql, "SELECT lth_pvr.place_intent_remainder(%s)", (intent,))

    assert refused(uuid.uuid4()) == "intent_must_exist"
    live, _ = fallback_order(postgresql, account)
    assert refused(order(postgresql, live)["intent_id"]) == "intent_must_have_no_live_order"
    short, ext = fallback_order(postgresql, account)
    fill(postgresql, account, trade_payload("t1", ext, "0.00095"), now=at(seconds=1))
    update(postgresql, account, cancelled(ext, remaining="0.00005"), now=at(seconds=2))
    assert refused(order(postgresql, short)["intent_id"]) == "remainder_must_reach_pair_minimum"  # 0.0001 BTC


# -- VALR's word is never refused; what it executed beyond the ask, or short, is an alert -----------------

def test_an_intent_valr_executed_twice_raises_an_alert_on_the_sum(postgresql):
    """A placement recorded failed by inference, its remainder placed by a person and filled; then VALR
    shows the first after all, filled: no order overfilled, the intent executed twice what it asked."""
    account = make_account(postgresql)
    first = scalar(postgresql, """SELECT lth_pvr.new_order(s.subaccount_id, 'BTCZAR', 'BUY', 1000000, 0.001, NULL,
                                                            false, 'GTC', %s)
                                    FROM lth_pvr.exchange_accounts s WHERE exchange_account_id = %s""", (at(), account))
    intent = order(postgresql, first)["intent_id"]
    lease(postgresql, "w1", at())
    claim(postgresql, "w1", at(), accounts=[account])
    # The request left, VALR never knew it, and placing it again is turned off: failed by inference.
    settle(postgresql, placement_requeues_max=0)
    assert scalar(postgresql, "SELECT lth_pvr.begin_placement(%s, %s)", (first, at(seconds=1)))
    one(postgresql, "SELECT * FROM lth_pvr.record_placement_not_found(%s, %s)", (first, at(seconds=300)))
    assert order(postgresql, first)["status"] == "failed"
    second = scalar(postgresql, "SELECT lth_pvr.place_intent_remainder(%s, %s)", (intent, at(seconds=301)))
    market_filled(postgresql, second, "valr-2", "0.001", at(seconds=302))
    assert alert(postgresql, "intent_over_executed", at(seconds=303)) is None
    place(postgresql, first, "valr-1", now=at(seconds=310))  # VALR's 202 after all: revived
    update(postgresql, account, status_payload("valr-1", "Filled", remaining="0"), now=at(seconds=311))
    assert order(postgresql, first)["status"] == "filled"
    found = alert(postgresql, "intent_over_executed", at(seconds=312))
    assert (found["level"], found["measured"]) == ("critical", 1)
    assert f"{intent} (asked 0.001, executed 0.002" in found["detail"]
    assert alert(postgresql, "overfilled_orders", at(seconds=312)) is None


def test_a_market_replacement_valr_cancelled_after_a_partial_fill_raises_an_alert(postgresql):
    account = make_account(postgresql)
    _, market, intent = replaced(postgresql, account)
    place(postgresql, market, "valr-m", now=at(minutes=7))
    fill(postgresql, account, trade_payload("t-m", "valr-m", "0.0004"), now=at(minutes=7))
    update(postgresql, account, dict(cancelled("valr-m", remaining="0.0006"), originalPrice="0"),
           now=at(minutes=7, seconds=1))
    found = alert(postgresql, "market_slippage", at(minutes=8))
    assert found and str(market) in found["detail"] and str(intent) in found["detail"]
    assert "Cancelled: 0.0004 of 0.001 executed" in found["detail"], found["detail"]
    assert "place_intent_remainder" in found["detail"]
    assert scalar(postgresql, "SELECT state FROM lth_pvr.v_intents WHERE intent_id = %s", (intent,)) \
        == "needs_attention"
    # A market order whose cancel a person asked for ended short by their word: no alert names it.
    person = scalar(postgresql, INSERT_MARKET + " RETURNING exchange_order_id", (account, uuid.uuid4(), "0.001"))
    claim(postgresql, "w1", at(minutes=8), accounts=[account])
    place(postgresql, person, "valr-p", now=at(minutes=8))
    postgresql.execute("SELECT lth_pvr.request_cancel(%s, %s)", (person, at(minutes=8)))
    update(postgresql, account, dict(cancelled("valr-p", remaining="0.001"), originalPrice="0"),
           now=at(minutes=8, seconds=1))
    assert order(postgresql, person)["status"] == "cancelled"
    assert str(person) not in alert(postgresql, "market_slippage", at(minutes=9))["detail"]
