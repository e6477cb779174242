"""The limit → market fallback's rules in SQL, one by one (issue 16): adverse moves only, stale prices
never fire, age from VALR's acceptance, cancel first and replace only on VALR's word for exactly the
quantity VALR says was not executed, at most one replacement, the intent never over-executes, the
remainder below the pair's minimum, every decision in order_events, v_intents, the alerts."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.harness import wait_for
from tests.support.sql import (
    T0, at, cancelled, claim, constraint_of, fallback_events, fallback_order, fill, fire_age, insert_order,
    lease, listener, make_account, make_order, one, order, place, prices, received, replacement, rows, scalar,
    settle, status_payload, trade_payload, update, valr_pairs,
)


# -- the columns and their defaults -----------------------------------------------------------------

def test_fallback_columns_are_named_constraints(postgresql):
    account = make_account(postgresql)
    insert = """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty,
                                                     order_type, fallback_after, fallback_price_move)
                VALUES (%s, gen_random_uuid(), 'BTCZAR', 'BUY', %s, 0.001, %s, %s::interval, %s)"""
    assert constraint_of(postgresql, insert, (account, 1000000, "limit", "-5 minutes", None)) \
        == "fallback_after_must_be_positive"
    assert constraint_of(postgresql, insert, (account, 1000000, "limit", None, -0.01)) \
        == "fallback_price_move_must_be_positive"
    assert constraint_of(postgresql, insert, (account, None, "market", "5 minutes", None)) \
        == "fallback_only_on_limit_orders"
    assert constraint_of(postgresql, insert, (account, None, "market", None, 0.01)) == "fallback_only_on_limit_orders"


def test_defaults_come_from_the_account_then_the_settings_and_an_explicit_value_wins(postgresql):
    account, other = make_account(postgresql), make_account(postgresql)

    def inserted(acct, after=None, move=None, order_type="limit"):
        return one(postgresql, """
            INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty,
                                                 order_type, fallback_after, fallback_price_move)
            VALUES (%s, gen_random_uuid(), 'BTCZAR', 'BUY', %s, 0.001, %s, %s::interval, %s)
            RETURNING fallback_after, fallback_price_move, customer_order_id = intent_id AS cid_is_intent""",
            (acct, None if order_type == "market" else 1000000, order_type, after, move))

    shipped = inserted(account)
    assert (shipped["fallback_after"], shipped["fallback_price_move"]) == (None, None)  # shipped off
    assert shipped["cid_is_intent"]
    settle(postgresql, fallback_after_seconds=300, fallback_price_move=0.0025)
    postgresql.execute("""UPDATE lth_pvr.exchange_accounts SET fallback_after = '2 minutes', fallback_price_move = 0.01
                           WHERE exchange_account_id = %s""", (account,))
    assert tuple(inserted(account).values())[:2] == (timedelta(minutes=2), Decimal("0.01"))
    assert tuple(inserted(other).values())[:2] == (timedelta(minutes=5), Decimal("0.0025"))
    assert tuple(inserted(account, "30 seconds", "0.05").values())[:2] == (timedelta(seconds=30), Decimal("0.05"))
    assert tuple(inserted(account, "0 seconds", "0").values())[:2] == (None, None)  # 0 = explicitly none
    assert tuple(inserted(account, order_type="market").values())[:2] == (None, None)


def test_an_order_registered_as_submitted_inherits_no_fallback(postgresql):
    """Placed by another system: a fallback would cancel someone else's order and buy at market."""
    account = make_account(postgresql)
    settle(postgresql, fallback_after_seconds=300)
    postgresql.execute("""UPDATE lth_pvr.exchange_accounts SET fallback_after = '2 minutes', fallback_price_move = 0.01
                           WHERE exchange_account_id = %s""", (account,))
    register = """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty,
                                                       status, ext_order_id, fallback_after, fallback_price_move)
                  VALUES (%s, gen_random_uuid(), 'BTCZAR', 'BUY', 1000000, 0.001, 'submitted', %s, %s::interval, %s)
                  RETURNING exchange_order_id, fallback_after, fallback_price_move"""
    inherited = one(postgresql, register, (account, "elsewhere-1", None, None))
    assert (inherited["fallback_after"], inherited["fallback_price_move"]) == (None, None)
    none = one(postgresql, register, (account, "elsewhere-2", "0 seconds", "0"))
    assert (none["fallback_after"], none["fallback_price_move"]) == (None, None)
    asked = one(postgresql, register, (account, "elsewhere-3", "30 seconds", "0.05"))
    assert (asked["fallback_after"], asked["fallback_price_move"]) == (timedelta(seconds=30), Decimal("0.05"))
    fired = rows(postgresql, "SELECT * FROM lth_pvr.request_due_fallbacks(NULL, now() + interval '10 minutes')")
    assert [f["exchange_order_id"] for f in fired] == [asked["exchange_order_id"]]  # only the row that asked


# -- the price rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("side, bid, ask, fires", [
    ("BUY", "1002000", "1002500", True),     # ask reached price × 1.0025
    ("BUY", "1002000", "1002499", False),    # just short
    ("BUY", "990000", "990500", False),      # the market fell: in a BUY's favour
    ("SELL", "997500", "998000", True),      # bid reached price × 0.9975
    ("SELL", "997501", "998000", False),
    ("SELL", "1010000", "1010500", False),   # the market rose: in a SELL's favour
    ("BUY", "1002000", None, False),         # no ask: nothing to judge by
])
def test_price_rule_fires_on_adverse_moves_only(postgresql, side, bid, ask, fires):
    assert scalar(postgresql, "SELECT lth_pvr.fallback_price_fired(%s, 1000000, 0.0025, %s, %s)",
                  (side, bid, ask)) is fires


def test_a_price_move_fires_once_with_the_cancel_requested_and_the_decision_logged(postgresql, db_url):
    account = make_account(postgresql)
    buy, _ = fallback_order(postgresql, account, move="0.0025")
    sell, _ = fallback_order(postgresql, account, side="SELL", move="0.0025")
    plain, _ = fallback_order(postgresql, account)  # no fallback
    postgresql.commit()
    cancels = listener(db_url, "lth_pvr_cancel")

    assert prices(postgresql, bid="1001000", ask="1001500", created=at(seconds=10), now=at(seconds=10)) == []
    fired = prices(postgresql, bid="1002400", ask="1002600", created=at(seconds=11), now=at(seconds=11))
    postgresql.commit()
    assert [(f["exchange_order_id"], f["trigger"], f["price_seen"]) for f in fired] == [
        (buy, "price", Decimal("1002600"))]
    assert received(cancels, expect=1) == [("lth_pvr_cancel", str(buy))]
    fired_order = order(postgresql, buy)
    assert (fired_order["fallback_reason"], fired_order["fallback_price"], fired_order["fallback_threshold"]) == (
        "price", Decimal("1002600"), Decimal("1002500.0000"))
    assert fired_order["cancel_requested_at"] == at(seconds=11) and fired_order["status"] == "submitted"
    [logged] = fallback_events(postgresql, buy)
    assert logged["outcome"] == "fallback_requested"
    assert logged["payload"] == {"trigger": "price", "price_seen": 1002600, "threshold": 1002500.0000,
                                 "qty": 0.001, "limit_price": 1000000}
    # Fired once: a further move returns nothing for it; the SELL fires on its own adverse move.
    fired = prices(postgresql, bid="990000", ask="1003000", created=at(seconds=12), now=at(seconds=12))
    assert [f["exchange_order_id"] for f in fired] == [sell]
    assert order(postgresql, plain)["cancel_requested_at"] is None
    cancels.close()


def test_a_stale_price_never_fires(postgresql):
    account = make_account(postgresql)
    buy, _ = fallback_order(postgresql, account, move="0.0025")
    # VALR stamped it 31 s ago (a cached REST answer read just now): stale.
    assert prices(postgresql, bid="1002400", ask="1003000", created=at(seconds=29), now=at(seconds=60),
                  source="rest") == []
    assert scalar(postgresql, "SELECT lth_pvr.market_price_is_fresh(%s, %s, %s)",
                  (at(seconds=30), at(seconds=60), at(seconds=60))) is True
    assert scalar(postgresql, "SELECT lth_pvr.market_price_is_fresh(NULL, %s, %s)",
                  (at(seconds=29), at(seconds=60))) is False
    assert order(postgresql, buy)["fallback_requested_at"] is None
    assert [f["exchange_order_id"] for f in prices(postgresql, bid="1002400", ask="1003000",
                                                   created=at(seconds=59), now=at(seconds=60))] == [buy]


def test_price_watch_pairs_are_those_of_open_orders_with_a_price_trigger(postgresql):
    account = make_account(postgresql)
    fallback_order(postgresql, account, after="5 minutes")
    assert rows(postgresql, "SELECT pair FROM lth_pvr.price_watch_pairs()") == []
    buy, _ = fallback_order(postgresql, account, move="0.01")
    assert rows(postgresql, "SELECT pair FROM lth_pvr.price_watch_pairs()") == [{"pair": "BTCZAR"}]
    prices(postgresql, bid="1020000", ask="1020000", created=at(seconds=1), now=at(seconds=1))
    assert order(postgresql, buy)["fallback_reason"] == "price"
    assert rows(postgresql, "SELECT pair FROM lth_pvr.price_watch_pairs()") == []  # fired: no longer watched


# -- the time rule ----------------------------------------------------------------------------------

def test_age_counts_from_valrs_acceptance_and_the_worker_is_told_when_to_wake(postgresql):
    account = make_account(postgresql)
    # Created at T0, accepted by VALR 40 s later: due at T0 + 40 s + 5 min.
    order_id = insert_order(postgresql, account, price="1000000", qty="0.001", fallback_after="5 minutes",
                            created_at=T0, updated_at=T0)
    lease(postgresql, "w1", T0)
    claim(postgresql, "w1", T0)
    place(postgresql, order_id, "valr-age", now=at(seconds=40))
    assert scalar(postgresql, "SELECT lth_pvr.next_fallback_due('w1', %s)", (at(seconds=100),)) == 240
    assert scalar(postgresql, "SELECT lth_pvr.next_fallback_due('other', %s)", (at(seconds=100),)) is None
    assert rows(postgresql, "SELECT * FROM lth_pvr.request_due_fallbacks('w1', %s)", (at(minutes=5),)) == []
    fired = rows(postgresql, "SELECT * FROM lth_pvr.request_due_fallbacks('w1', %s)", (at(seconds=340),))
    assert [(f["exchange_order_id"], f["trigger"]) for f in fired] == [(order_id, "age")]
    assert order(postgresql, order_id)["cancel_requested_at"] == at(seconds=340)
    assert scalar(postgresql, "SELECT lth_pvr.next_fallback_due('w1', %s)", (at(seconds=341),)) is None
    assert rows(postgresql, "SELECT * FROM lth_pvr.request_due_fallbacks('w1', %s)", (at(seconds=400),)) == []
    assert [e["outcome"] for e in fallback_events(postgresql, order_id)] == ["fallback_requested"]


def test_the_cron_safety_net_fires_due_fallbacks_of_every_account(postgresql):
    account = make_account(postgresql)
    order_id, _ = fallback_order(postgresql, account, after="5 minutes")
    postgresql.execute("SELECT lth_pvr.safety_net_tick(%s)", (at(minutes=4),))
    assert order(postgresql, order_id)["fallback_requested_at"] is None
    postgresql.execute("SELECT lth_pvr.safety_net_tick(%s)", (at(minutes=10),))
    assert order(postgresql, order_id)["fallback_reason"] == "age"


def test_an_operators_cancel_is_not_turned_into_a_fallback(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    postgresql.execute("SELECT lth_pvr.request_cancel(%s, %s)", (order_id, at(minutes=1)))
    assert rows(postgresql, "SELECT * FROM lth_pvr.request_due_fallbacks(NULL, %s)", (at(minutes=10),)) == []
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(minutes=11))
    assert order(postgresql, order_id)["status"] == "cancelled" and replacement(postgresql, order_id) is None


# -- cancel first, replace only on VALR's word -------------------------------------------------------


def test_valrs_cancelled_word_replaces_exactly_what_valr_says_was_not_executed(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fill(postgresql, account, trade_payload("t1", ext, "0.0003"), now=at(minutes=1))
    fire_age(postgresql, order_id)
    assert replacement(postgresql, order_id) is None  # requested only: nothing placed before VALR's word
    # VALR executed 0.0004 (a trade of 0.0001 not received yet): the remainder is 0.0006, not 0.0007.
    update(postgresql, account, cancelled(ext, remaining="0.0006"), now=at(minutes=7))
    original = order(postgresql, order_id)
    assert (original["status"], original["fallback_outcome"]) == ("cancelled", "replaced")
    market = replacement(postgresql, order_id)
    assert (market["order_type"], market["status"], market["qty"], market["side"], market["price"]) == (
        "market", "pending", Decimal("0.0006"), "BUY", None)
    assert market["intent_id"] == original["intent_id"]
    assert market["customer_order_id"] == market["exchange_order_id"] != original["customer_order_id"]
    assert (market["fallback_after"], market["fallback_price_move"]) == (None, None)
    # The late trade arrives: recorded on the original, the replacement is unchanged.
    fill(postgresql, account, trade_payload("t2", ext, "0.0001"), now=at(minutes=8))
    assert order(postgresql, order_id)["filled_qty"] == Decimal("0.0004")
    assert replacement(postgresql, order_id)["qty"] == Decimal("0.0006")
    [requested, replaced] = fallback_events(postgresql, order_id)
    assert replaced["outcome"] == "replaced"
    assert replaced["payload"]["remaining"] == 0.0006 and replaced["payload"]["replacement_qty"] == 0.0006
    assert [e["outcome"] for e in fallback_events(postgresql, market["exchange_order_id"])] == ["replacement"]


def test_expired_counts_as_cancelled_and_a_repeat_of_valrs_word_places_nothing_more(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    update(postgresql, account, cancelled(ext, remaining="0.001", status="Expired"), now=at(minutes=7))
    update(postgresql, account, cancelled(ext, remaining="0.001"), source="poll", now=at(minutes=8))
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(minutes=9))
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.exchange_orders WHERE replaces_order_id = %s",
                  (order_id,)) == 1
    assert replacement(postgresql, order_id)["qty"] == Decimal("0.001")


def test_valr_says_filled_first_so_nothing_is_replaced(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    update(postgresql, account, status_payload(ext, "Filled", remaining="0"), now=at(minutes=7))
    assert order(postgresql, order_id)["fallback_outcome"] == "filled"
    assert replacement(postgresql, order_id) is None
    assert [e["outcome"] for e in fallback_events(postgresql, order_id)] == ["fallback_requested", "filled_first"]


def test_a_failed_cancel_creates_nothing_and_the_confirmation_later_does(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    postgresql.execute("SELECT lth_pvr.claim_cancel_requests('w1', p_now => %s)", (at(minutes=6),))
    postgresql.execute("SELECT lth_pvr.record_cancel_failed(%s, 'ws', 'FAILED_CANCEL_ORDER', NULL, %s)",
                       (order_id, at(minutes=6)))
    assert order(postgresql, order_id)["status"] == "submitted" and replacement(postgresql, order_id) is None
    # The cancel is retried; VALR's word, when it comes, replaces the remainder.
    assert len(rows(postgresql, "SELECT * FROM lth_pvr.claim_cancel_requests('w1', p_now => %s)", (at(minutes=7),))) == 1
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(minutes=7))
    assert replacement(postgresql, order_id)["qty"] == Decimal("0.001")


# -- a person's cancel wins ---------------------------------------------------------------------------

def person_cancels(conn, order_id, now) -> str:
    return scalar(conn, "SELECT lth_pvr.request_cancel(%s, %s)", (order_id, now))


def test_a_persons_cancel_turns_off_a_fallback_in_flight_and_nothing_is_bought(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)  # the fallback's cancel is on its way
    assert person_cancels(postgresql, order_id, at(minutes=6, seconds=1)) == "fallback_off"
    logged = one(postgresql, """SELECT source, detail FROM lth_pvr.order_events
                                 WHERE exchange_order_id = %s AND kind = 'cancel_request'""", (order_id,))
    assert logged["source"] == "operator" and "fallback" in logged["detail"] and "is off" in logged["detail"]
    assert person_cancels(postgresql, order_id, at(minutes=6, seconds=2)) == "already_requested"
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(minutes=7))
    original = order(postgresql, order_id)
    assert (original["status"], original["fallback_outcome"]) == ("cancelled", "cancelled_by_person")
    assert replacement(postgresql, order_id) is None
    assert scalar(postgresql, "SELECT lth_pvr.replace_after_fallback(%s, 'ws', %s)",
                  (order_id, at(minutes=8))) == "cancelled_by_person"  # called anyway: places nothing
    assert replacement(postgresql, order_id) is None
    assert rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'fallback_not_replaced'",
                (at(minutes=8),)) == []  # a person's decision, not a failure


def test_a_persons_cancel_of_the_intent_stops_a_replacement_not_yet_sent(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(minutes=7))
    market = replacement(postgresql, order_id)["exchange_order_id"]
    claim(postgresql, "w1", at(minutes=7), accounts=[account])  # placing, its POST not sent yet
    cancel_intent = "SELECT * FROM lth_pvr.request_intent_cancel(%s, %s)"
    answers = rows(postgresql, cancel_intent, (order(postgresql, order_id)["intent_id"], at(minutes=7, seconds=1)))
    assert [(a["exchange_order_id"], a["outcome"]) for a in answers] == [(market, "cancelled_before_placement")]
    assert order(postgresql, market)["status"] == "cancelled"
    assert scalar(postgresql, "SELECT lth_pvr.begin_placement(%s, %s)", (market, at(minutes=7, seconds=2))) is False


def test_a_persons_cancel_of_a_placement_already_sent_waits_for_valr(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0, accounts=[account])
    assert scalar(postgresql, "SELECT lth_pvr.begin_placement(%s, %s)", (order_id, at(seconds=1))) is True
    assert person_cancels(postgresql, order_id, at(seconds=2)) == "requested"  # VALR may hold it: ask VALR
    assert order(postgresql, order_id)["status"] == "placing"


def test_a_persons_intent_cancel_waiting_on_valrs_word_still_stops_the_replacement(postgresql, db_url):
    """VALR's Cancelled is being recorded (the replacement inserted, not committed) when the person
    cancels the intent: the cancel waits for the row, then finds the replacement and cancels it."""
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    intent = order(postgresql, order_id)["intent_id"]
    postgresql.commit()
    answers: list = []
    with psycopg.connect(db_url) as valr_word, psycopg.connect(db_url, autocommit=True) as person:
        update(valr_word, account, cancelled(ext, remaining="0.001"), now=at(minutes=7))
        t = threading.Thread(target=lambda: answers.extend(person.execute(
            "SELECT * FROM lth_pvr.request_intent_cancel(%s, %s)", (intent, at(minutes=7))).fetchall()))
        t.start()
        wait_until_blocked(db_url, "request_intent_cancel")
        valr_word.commit()
        t.join()
    market = replacement(postgresql, order_id)["exchange_order_id"]
    assert answers == [(order_id, "terminal"), (market, "cancelled_before_placement")]
    assert order(postgresql, market)["status"] == "cancelled"


def wait_until_blocked(db_url: str, query_part: str) -> None:
    """Until another session running query_part waits for a lock. Asked on a connection of its own in
    autocommit: pg_stat_activity is read once per transaction, so polls inside one never see the
    session block (the test then hung: the waiter's thread held its connection, the lock was never freed)."""
    with psycopg.connect(db_url, autocommit=True) as watcher:
        wait_for(lambda: scalar(watcher, """SELECT count(*) FROM pg_stat_activity
                                             WHERE wait_event_type = 'Lock' AND query LIKE %s""",
                                (f"%{query_part}%",)),
                 timeout=10, interval=0.01, what=f"a session running {query_part} waiting for a lock")


def test_a_remainder_valr_does_not_state_is_never_guessed(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    payload = cancelled(ext, remaining="0.001")
    del payload["remainingQuantity"]
    update(postgresql, account, payload, now=at(minutes=7))
    assert order(postgresql, order_id)["fallback_outcome"] == "remainder_unknown"
    assert replacement(postgresql, order_id) is None
    assert scalar(postgresql, "SELECT state FROM lth_pvr.v_intents WHERE intent_id = %s",
                  (order(postgresql, order_id)["intent_id"],)) == "needs_attention"


def test_a_remainder_below_the_pairs_minimum_is_not_replaced_and_an_alert_names_it(postgresql):
    account = make_account(postgresql)
    valr_pairs(postgresql, "BTCZAR")
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")  # BTCZAR: min 0.0001 BTC
    fire_age(postgresql, order_id)
    update(postgresql, account, cancelled(ext, remaining="0.00005"), now=at(minutes=7))
    assert (order(postgresql, order_id)["status"], order(postgresql, order_id)["fallback_outcome"]) == (
        "cancelled", "below_minimum")
    assert replacement(postgresql, order_id) is None
    assert "below BTCZAR's minimum" in fallback_events(postgresql, order_id)[-1]["detail"]
    alerts = rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'fallback_not_replaced'",
                  (at(minutes=8),))
    assert len(alerts) == 1 and str(order_id) in alerts[0]["detail"] and "below_minimum" in alerts[0]["detail"]
    # The quote minimum too: 0.0002 BTC at R10 is below a R10 minimum... set one that bites.
    postgresql.execute("UPDATE lth_pvr.pairs SET min_quote_amount = 500 WHERE pair = 'BTCZAR'")
    second, ext2 = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, second)
    update(postgresql, account, cancelled(ext2, remaining="0.0004"), now=at(minutes=7))  # ≈ R400
    assert order(postgresql, second)["fallback_outcome"] == "below_minimum"


def test_the_intent_invariant_refuses_a_replacement_that_would_over_execute(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fill(postgresql, account, trade_payload("t1", ext, "0.0004"), now=at(minutes=1))
    postgresql.execute("SELECT lth_pvr.request_cancel(%s, %s)", (order_id, at(minutes=2)))
    update(postgresql, account, cancelled(ext, remaining="0.0006"), now=at(minutes=3))  # no fallback: nothing
    intent = order(postgresql, order_id)["intent_id"]
    insert = """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, qty, order_type,
                                                     replaces_order_id)
                VALUES (%s, %s, 'BTCZAR', 'BUY', %s, 'market', %s)"""
    assert constraint_of(postgresql, insert, (account, intent, "0.0007", order_id)) \
        == "intent_must_not_execute_more_than_asked"
    postgresql.execute(insert, (account, intent, "0.0006", order_id))  # exactly what is left: accepted
    assert constraint_of(postgresql, """
        UPDATE lth_pvr.exchange_orders SET qty = 0.0007 WHERE replaces_order_id = %s""", (order_id,)) \
        == "intent_must_not_execute_more_than_asked"
    with pytest.raises(psycopg.errors.UniqueViolation):
        postgresql.execute(insert, (account, intent, "0.0001", order_id))


def test_a_replacement_belongs_to_its_originals_intent_and_follows_it(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account)
    intent = order(postgresql, order_id)["intent_id"]
    insert = """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, qty,
                                                     order_type, replaces_order_id)
                VALUES (%s, %s, 'BTCZAR', 'BUY', 0.0001, 'market', %s)"""
    with pytest.raises(psycopg.errors.UniqueViolation, match="one_open_order_per_intent"):
        with postgresql.transaction():
            postgresql.execute(insert, (account, intent, order_id))  # the original is still open
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(minutes=1))
    assert constraint_of(postgresql, insert, (account, uuid.uuid4(), order_id)) \
        == "replacement_must_follow_a_finished_order_of_its_intent"


def test_two_transactions_recording_valrs_word_at_once_place_one_replacement(postgresql, db_url):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    postgresql.commit()
    barrier = threading.Barrier(2)

    def record(source):
        with psycopg.connect(db_url) as conn:
            barrier.wait()
            conn.execute("SELECT * FROM lth_pvr.record_order_update(%s, %s, %s, %s)",
                         (account, source, Jsonb(cancelled(ext, remaining="0.001")), at(minutes=7)))

    threads = [threading.Thread(target=record, args=(s,)) for s in ("ws", "poll")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert scalar(postgresql, "SELECT count(*) FROM lth_pvr.exchange_orders WHERE replaces_order_id = %s",
                  (order_id,)) == 1


def test_two_workers_firing_the_same_due_fallback_fire_it_once(postgresql, db_url):
    account = make_account(postgresql)
    order_id, _ = fallback_order(postgresql, account, after="5 minutes")
    postgresql.commit()
    a, b = psycopg.connect(db_url), psycopg.connect(db_url)
    try:
        first = a.execute("SELECT exchange_order_id FROM lth_pvr.request_due_fallbacks(NULL, %s)",
                          (at(minutes=6),)).fetchall()
        done = []
        t = threading.Thread(target=lambda: done.append(b.execute(
            "SELECT exchange_order_id FROM lth_pvr.request_due_fallbacks(NULL, %s)", (at(minutes=6),)).fetchall()))
        t.start()
        a.commit()
        t.join()
        b.commit()
    finally:
        a.close()
        b.close()
    assert first == [(order_id,)] and done == [[]]
    assert scalar(postgresql, """SELECT count(*) FROM lth_pvr.order_events
                                  WHERE exchange_order_id = %s AND outcome = 'fallback_requested'""", (order_id,)) == 1


def test_the_replacements_own_customer_order_id_matches_its_events(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(minutes=7))
    market = replacement(postgresql, order_id)
    [claimed] = claim(postgresql, "w1", at(minutes=7), accounts=[account])
    assert claimed["customer_order_id"] == market["exchange_order_id"] and claimed["order_type"] == "market"
    # An ORDER_STATUS_UPDATE racing the placement answer finds it by its customerOrderId.
    payload = status_payload("valr-market", "Filled", original="0.001", remaining="0")
    payload.update(customerOrderId=str(market["exchange_order_id"]), originalPrice="0", orderType="market",
                   orderCreatedAt="2025-03-03T12:07:00.500Z")
    assert update(postgresql, account, payload, now=at(minutes=7, seconds=1))["exchange_order_id"] \
        == market["exchange_order_id"]
    assert order(postgresql, market["exchange_order_id"])["status"] == "filled"


# -- v_intents and the slippage alert ----------------------------------------------------------------

def test_v_intents_one_row_per_intent_across_the_limit_and_its_replacement(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    intent = order(postgresql, order_id)["intent_id"]

    def intent_row():
        return one(postgresql, "SELECT * FROM lth_pvr.v_intents WHERE intent_id = %s", (intent,))

    assert (intent_row()["state"], intent_row()["orders"]) == ("open", 1)
    fill(postgresql, account, trade_payload("t1", ext, "0.0004", price="1000000"), now=at(minutes=1))
    fire_age(postgresql, order_id)
    update(postgresql, account, cancelled(ext, remaining="0.0006"), now=at(minutes=7))
    assert (intent_row()["state"], intent_row()["orders"], intent_row()["filled_qty"]) == (
        "open", 2, Decimal("0.0004"))
    market = replacement(postgresql, order_id)["exchange_order_id"]
    claim(postgresql, "w1", at(minutes=7), accounts=[account])
    place(postgresql, market, "valr-m1", now=at(minutes=7))
    fill(postgresql, account, trade_payload("t2", "valr-m1", "0.0006", price="1010000"), now=at(minutes=7))
    payload = status_payload("valr-m1", "Filled", original="0.0006", remaining="0")
    payload.update(originalPrice="0")
    update(postgresql, account, payload, now=at(minutes=7))
    done = intent_row()
    assert (done["state"], done["qty"], done["filled_qty"]) == ("filled", Decimal("0.001"), Decimal("0.0010"))
    assert done["avg_price"] == Decimal("1006000")
    assert done["fees"] == {"BTC": "0.0000002"}


def test_v_intents_states(postgresql):
    account = make_account(postgresql)

    def state(order_id):
        return scalar(postgresql, """SELECT i.state FROM lth_pvr.v_intents i JOIN lth_pvr.exchange_orders o
                                       USING (intent_id) WHERE o.exchange_order_id = %s""", (order_id,))

    partly, ext = fallback_order(postgresql, account)
    fill(postgresql, account, trade_payload("p1", ext, "0.0002"), now=at(seconds=1))
    update(postgresql, account, cancelled(ext, remaining="0.0008"), now=at(seconds=2))
    assert state(partly) == "partially_filled"
    nothing, ext = fallback_order(postgresql, account)
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(seconds=2))
    assert state(nothing) == "cancelled"
    refused, _ = fallback_order(postgresql, account)
    update(postgresql, account, dict(status_payload(None, "Failed", reason="Insufficient Balance"),
                                     customerOrderId=str(order(postgresql, refused)["customer_order_id"])),
           now=at(seconds=2))
    assert state(refused) == "failed"


def test_a_market_order_cancelled_due_to_slippage_raises_an_alert(postgresql):
    account = make_account(postgresql)
    market = insert_order(postgresql, account, qty="0.001", order_type="market")
    lease(postgresql, "w1", T0)
    claim(postgresql, "w1", T0, accounts=[account])
    place(postgresql, market, "valr-s", now=T0)
    assert rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'market_slippage'", (at(minutes=1),)) == []
    payload = status_payload("valr-s", "Partially Filled and Cancelled Due To Slippage", remaining="0.0007")
    payload.update(originalPrice="0")
    update(postgresql, account, payload, now=at(seconds=1))
    [alert] = rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'market_slippage'", (at(minutes=1),))
    assert str(market) in alert["detail"]
    assert scalar(postgresql, """SELECT state FROM lth_pvr.v_intents i JOIN lth_pvr.exchange_orders o USING (intent_id)
                                  WHERE o.exchange_order_id = %s""", (market,)) == "needs_attention"


def test_a_failed_market_replacement_raises_an_alert_and_needs_attention(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    update(postgresql, account, cancelled(ext, remaining="0.001"), now=at(minutes=7))
    market = replacement(postgresql, order_id)["exchange_order_id"]
    claim(postgresql, "w1", at(minutes=7), accounts=[account])
    place(postgresql, market, "valr-m2", now=at(minutes=7))

    def alerts():
        return rows(postgresql, "SELECT * FROM lth_pvr.alerts(%s) WHERE name = 'replacement_failed'",
                    (at(minutes=8),))

    def state():
        return scalar(postgresql, """SELECT state FROM lth_pvr.v_intents i JOIN lth_pvr.exchange_orders o
                                       USING (intent_id) WHERE o.exchange_order_id = %s""", (market,))

    assert (alerts(), state()) == ([], "open")
    update(postgresql, account, status_payload("valr-m2", "Failed", reason="Insufficient Balance"),
           now=at(minutes=7, seconds=1))
    assert order(postgresql, market)["status"] == "failed"
    [alert] = alerts()
    assert (alert["level"], str(market) in alert["detail"], "Insufficient Balance" in alert["detail"]) == (
        "critical", True, True)
    assert state() == "needs_attention"
