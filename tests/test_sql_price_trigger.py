"""The price trigger's freshness and confirmation in SQL (issue 21, items 6-8), on a simulated clock: a
one-frame spike never fires; a move fires once seen again on a price received fallback_price_confirm_ms
after it began (with no further frame, SQL names the pair for a REST read that gives it); an order
accepted after the move is judged without a new frame; freshness is per pair (a pair with no price
received within price_rest_poll_seconds is named for a REST read); and an order whose pair has had no
price for price_stale_alert_seconds raises prices_stale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.support.sql import T0, at, fallback_order, insert_order, make_account, order, prices, rows, scalar


def due_fallbacks(conn, now) -> list:
    return [r["exchange_order_id"] for r in rows(conn, "SELECT * FROM lth_pvr.request_due_fallbacks('w1', %s)",
                                                 (now,))]


def next_due(conn, now):
    return scalar(conn, "SELECT lth_pvr.next_fallback_due('w1', %s)", (now,))


def tick(conn, *, ask: str, seconds: float, source: str = "ws") -> list:
    """One BTCZAR price, stamped and received `seconds` after T0: the orders fired."""
    when = at(seconds=seconds)
    return [f["exchange_order_id"] for f in prices(conn, bid="990000", ask=ask, created=when, now=when,
                                                   source=source)]


def rest_pairs(conn, seconds: float) -> list:
    return rows(conn, "SELECT rest_pairs FROM lth_pvr.prices_to_watch(p_now => %s)", (at(seconds=seconds),))[0]["rest_pairs"]


def test_a_one_frame_spike_never_fires_and_a_move_that_holds_fires_once_confirmed(postgresql):
    account = make_account(postgresql)
    buy, _ = fallback_order(postgresql, account, move="0.01", confirm_ms=500)  # threshold: ask 1010000

    assert tick(postgresql, ask="1020000", seconds=10) == []            # the spike: crossed, not yet held
    assert order(postgresql, buy)["fallback_price_crossed_at"] == at(seconds=10)
    assert tick(postgresql, ask="1000500", seconds=10.05) == []         # reverted 50 ms later
    assert order(postgresql, buy)["fallback_price_crossed_at"] is None
    assert due_fallbacks(postgresql, at(seconds=11)) == [] and rest_pairs(postgresql, 11) == []

    # A move that holds: two frames, both past the threshold; the second does not restart the clock.
    assert tick(postgresql, ask="1015000", seconds=20) == []
    assert tick(postgresql, ask="1016000", seconds=20.3) == []
    assert rest_pairs(postgresql, 20.4) == []
    # No further frame (VALR sends only changes, or the socket went quiet): the price held is 500 ms
    # old and proves nothing about now. Neither the timer nor the clock fires it: SQL asks for a read.
    assert due_fallbacks(postgresql, at(seconds=20.5)) == [] and next_due(postgresql, at(seconds=20.5)) is None
    assert rest_pairs(postgresql, 20.5) == ["BTCZAR"]
    assert tick(postgresql, ask="1016000", seconds=20.9, source="rest") == [buy]   # seen again: confirmed
    fired = order(postgresql, buy)
    assert (fired["fallback_reason"], fired["fallback_price"], fired["cancel_requested_at"]) == (
        "price", Decimal("1016000"), at(seconds=20.9))
    assert rest_pairs(postgresql, 21) == []


def test_a_held_move_fires_on_the_frame_that_completes_its_confirmation(postgresql):
    account = make_account(postgresql)
    buy, _ = fallback_order(postgresql, account, move="0.01", confirm_ms=500)
    assert tick(postgresql, ask="1015000", seconds=10) == []
    assert tick(postgresql, ask="1015500", seconds=10.6) == [buy]


def test_a_move_nobody_can_see_any_more_starts_its_confirmation_again(postgresql):
    account = make_account(postgresql)
    buy, _ = fallback_order(postgresql, account, move="0.01", confirm_ms=500)
    assert tick(postgresql, ask="1015000", seconds=10) == []
    # 31 s without a price: stale, the mark goes; a fresh crossing starts the clock again.
    assert due_fallbacks(postgresql, at(seconds=41)) == []
    assert order(postgresql, buy)["fallback_price_crossed_at"] is None
    assert tick(postgresql, ask="1015000", seconds=42) == []
    assert tick(postgresql, ask="1015000", seconds=42.5) == [buy]


def test_an_order_accepted_after_its_threshold_was_crossed_fires_without_a_new_frame(postgresql):
    account = make_account(postgresql)
    tick(postgresql, ask="1020000", seconds=1)  # the market is already 2 % above the order's limit
    at_once, _ = fallback_order(postgresql, account, move="0.01", now=at(seconds=2))
    confirmed, _ = fallback_order(postgresql, account, move="0.01", now=at(seconds=2), confirm_ms=500)
    assert next_due(postgresql, at(seconds=2)) == 0       # accepted: the worker's timer looks at once
    assert due_fallbacks(postgresql, at(seconds=2)) == [at_once]   # no confirmation asked: the price held
    assert order(postgresql, confirmed)["fallback_price_crossed_at"] == at(seconds=2)
    assert next_due(postgresql, at(seconds=2)) is None
    # The other needs the move seen on a price received 500 ms after it was marked: a read is asked for.
    assert rest_pairs(postgresql, 2.4) == [] and rest_pairs(postgresql, 2.5) == ["BTCZAR"]
    assert tick(postgresql, ask="1020000", seconds=2.6, source="rest") == [confirmed]


def test_the_confirmation_comes_from_the_order_then_its_account_then_the_setting(postgresql):
    account, other = make_account(postgresql), make_account(postgresql)
    postgresql.execute("UPDATE lth_pvr.exchange_accounts SET fallback_price_confirm_ms = 2000 "
                       "WHERE exchange_account_id = %s", (account,))

    def confirm(acct, move, confirm_ms):
        order_id, _ = fallback_order(postgresql, acct, move=move, confirm_ms=confirm_ms)
        return order(postgresql, order_id)["fallback_price_confirm_ms"]

    assert scalar(postgresql, "SELECT value FROM lth_pvr.settings WHERE name = 'fallback_price_confirm_ms'") == 500
    assert confirm(other, "0.01", None) == 500
    assert confirm(account, "0.01", None) == 2000
    assert confirm(account, "0.01", 0) == 0          # 0 is a value: fire on the first crossing price
    assert confirm(account, None, 100) is None       # no price fallback: nothing to confirm


def test_freshness_is_per_pair_and_a_stale_pair_is_named_for_a_rest_read(postgresql):
    account = make_account(postgresql)
    fallback_order(postgresql, account, move="0.5")
    eth = insert_order(postgresql, account, pair="ETHZAR", side="SELL", price="50000", qty="0.01",
                       fallback_price_move="0.5", created_at=T0, updated_at=T0)
    assert eth

    def watch(seconds):
        row = rows(postgresql, "SELECT * FROM lth_pvr.prices_to_watch(p_now => %s)", (at(seconds=seconds),))[0]
        return row["pairs"], row["rest_pairs"]

    # Never priced: stale once price_rest_poll_seconds (10) have passed since the pair was first watched.
    assert watch(5) == (["BTCZAR", "ETHZAR"], [])
    assert watch(10) == (["BTCZAR", "ETHZAR"], ["BTCZAR", "ETHZAR"])
    # The socket streams ETHZAR only: BTCZAR stays stale on its own, whatever the socket's state.
    prices(postgresql, "ETHZAR", bid="49000", ask="49100", created=at(seconds=11), now=at(seconds=11))
    assert watch(12) == (["BTCZAR", "ETHZAR"], ["BTCZAR"])
    prices(postgresql, bid="990000", ask="991000", created=at(seconds=12), now=at(seconds=12), source="rest")
    assert watch(13) == (["BTCZAR", "ETHZAR"], [])
    assert watch(22) == (["BTCZAR", "ETHZAR"], ["BTCZAR", "ETHZAR"])  # quiet markets are read that often


def test_an_order_whose_pair_has_no_price_raises_prices_stale(postgresql):
    account = make_account(postgresql)
    buy, _ = fallback_order(postgresql, account, move="0.5")
    fallback_order(postgresql, account, after="1 hour")  # no price fallback: never counted

    def stale(seconds):
        return rows(postgresql, "SELECT measured, threshold, detail FROM lth_pvr.alerts(%s) "
                                "WHERE name = 'prices_stale'", (T0 + timedelta(seconds=seconds),))

    assert stale(30) == []                      # accepted 30 s ago: at the threshold, not past it
    [alert] = stale(31)
    assert (alert["measured"], alert["threshold"]) == (Decimal("31.00"), Decimal("30"))
    assert "1 order(s)" in alert["detail"] and "BTCZAR" in alert["detail"]
    prices(postgresql, bid="990000", ask="991000", created=at(seconds=40), now=at(seconds=40))
    assert stale(69) == []
    assert stale(71)[0]["measured"] == Decimal("31.00")
    assert order(postgresql, buy)["fallback_requested_at"] is None
