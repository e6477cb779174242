"""Live prices end to end: the worker holds one trade socket subscribed to MARKET_SUMMARY_UPDATE for
the pairs SQL names (price_watch_pairs: pairs of open orders with a price fallback — here given by
the global default, a 50 % move that never fires), records every read with one
record_market_prices call, follows the set of pairs as orders come and go, and reads the marketsummary
over REST when a pair has had no price for price_rest_poll_seconds (the trade socket down or silent).
Real PostgreSQL, the simulator over real sockets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.harness import wait_for

pytestmark = pytest.mark.slow


def price(orders, pair: str) -> dict | None:
    rows = orders.sql("SELECT bid, ask, last, source, valr_time, received_at FROM lth_pvr.market_prices "
                      "WHERE pair = %s", (pair,))
    if not rows:
        return None
    return dict(zip(("bid", "ask", "last", "source", "valr_time", "received_at"), rows[0]))



def watched(orders) -> None:
    """Every limit order inserted from now on has a price fallback (the global default) that never fires."""
    orders.settle(fallback_price_move=0.5)


def marketsummary_reads(sim) -> int:
    return sim.counters()["rest"].get("GET /v1/public/{pair}/marketsummary", 0)


def test_prices_of_pairs_with_open_orders_are_recorded_from_the_trade_socket(sim, orders, start_worker):
    account = orders.account("")
    watched(orders)
    sim.market("BTCZAR", bid="1100000", ask="1100500")
    start_worker()
    assert price(orders, "BTCZAR") is None
    order_id, _ = orders.insert(account, price="1000000")
    orders.wait_status(order_id, "submitted")
    wait_for(lambda: price(orders, "BTCZAR"), what="the first price")
    first = price(orders, "BTCZAR")
    assert (first["bid"], first["ask"], first["source"]) == (Decimal("1100000"), Decimal("1100500"), "ws")
    assert first["valr_time"] is not None

    sim.market("BTCZAR", bid="1090000", ask="1090100")  # every change is a frame, recorded at once
    wait_for(lambda: price(orders, "BTCZAR")["bid"] == Decimal("1090000"), timeout=5, what="the move")
    assert price(orders, "BTCZAR")["source"] == "ws"
    assert price(orders, "ETHZAR") is None  # no open order there: not watched
    assert marketsummary_reads(sim) == 0    # no REST for prices while the socket is up
    assert sim.counters()["trade_subscriptions"] == [["BTCZAR"]]


def test_resubscribes_when_the_pairs_with_open_orders_change(sim, orders, start_worker):
    account = orders.account("")
    watched(orders)
    start_worker()
    btc_id, btc_intent = orders.insert(account, price="1000000")
    wait_for(lambda: sim.counters()["trade_subscriptions"] == [["BTCZAR"]], what="BTCZAR subscribed")
    eth_id, _ = orders.insert(account, pair="ETHZAR", side="SELL", price="50000", qty="0.01")
    wait_for(lambda: sim.counters()["trade_subscriptions"] == [["BTCZAR", "ETHZAR"]], what="ETHZAR added")
    wait_for(lambda: price(orders, "ETHZAR"), what="ETHZAR's price")
    orders.wait_status(btc_id, "submitted")
    sim.fill(str(btc_intent))
    orders.wait_status(btc_id, "filled")
    wait_for(lambda: sim.counters()["trade_subscriptions"] == [["ETHZAR"]], what="BTCZAR dropped")
    assert sim.counters()["trade_connections"] == 1  # one socket throughout: resubscribed, not reopened
    assert orders.status(eth_id) in ("placing", "submitted")


def test_prices_come_over_rest_while_the_trade_socket_is_down_and_from_it_again_once_back(sim, orders,
                                                                                           start_worker):
    account = orders.account("")
    watched(orders)
    worker = start_worker()
    orders.insert(account, price="1000000")
    wait_for(lambda: (price(orders, "BTCZAR") or {}).get("source") == "ws", what="a price from the socket")

    orders.settle(price_rest_poll_seconds=0.3)  # a pair without a price this long is read over REST
    sim.faults(trade_down=True)
    sim.market("BTCZAR", bid="1080000", ask="1080200")
    wait_for(lambda: price(orders, "BTCZAR")["bid"] == Decimal("1080000"), what="the REST read")
    assert price(orders, "BTCZAR")["source"] == "rest"
    sim.market("BTCZAR", bid="1070000", ask="1070200")
    wait_for(lambda: price(orders, "BTCZAR")["bid"] == Decimal("1070000"), what="the next REST read")
    assert marketsummary_reads(sim) >= 2
    assert "trade socket lost; reading prices over REST meanwhile" in worker.log()

    orders.settle(price_rest_poll_seconds=60)  # (a quiet pair would be read that often, socket or not)
    sim.faults(trade_down=False)
    wait_for(lambda: sim.counters()["trade_subscriptions"] == [["BTCZAR"]], timeout=40, what="the socket back")
    reads = marketsummary_reads(sim)
    sim.market("BTCZAR", bid="1060000", ask="1060200")
    wait_for(lambda: price(orders, "BTCZAR")["bid"] == Decimal("1060000"), what="the socket's frame")
    assert price(orders, "BTCZAR")["source"] == "ws"
    assert marketsummary_reads(sim) <= reads + 1  # at most one REST round already under way


def test_a_silent_trade_socket_is_covered_by_rest_then_asked_again_and_dropped(sim, orders, start_worker):
    account = orders.account("")
    watched(orders)
    orders.settle(price_rest_poll_seconds=0.3, price_socket_quiet_seconds=1)
    worker = start_worker()
    orders.insert(account, price="1000000")
    wait_for(lambda: (price(orders, "BTCZAR") or {}).get("source") == "ws", what="a price from the socket")
    subscribes = sim.counters()["trade_subscribes"]

    sim.faults(trade_silent=True)
    sim.market("BTCZAR", bid="1050000", ask="1050100")
    wait_for(lambda: price(orders, "BTCZAR")["bid"] == Decimal("1050000"), timeout=30, what="the REST read")
    assert price(orders, "BTCZAR")["source"] == "rest"  # the pair went stale: REST, before any probe
    wait_for(lambda: sim.counters()["trade_subscribes"] > subscribes, what="asked again before giving up")
    wait_for(lambda: "silent" in worker.log(), what="the silent socket dropped")


def test_record_market_prices_keeps_the_newest_per_pair_and_skips_garbage(orders):
    frames = [
        {"type": "MARKET_SUMMARY_UPDATE", "currencyPairSymbol": "BTCZAR",
         "data": {"currencyPair": "BTCZAR", "bidPrice": "100", "askPrice": "101", "lastTradedPrice": "100",
                  "created": "2026-01-01T00:00:02.000Z"}},
        {"type": "MARKET_SUMMARY_UPDATE", "currencyPairSymbol": "BTCZAR",
         "data": {"currencyPair": "BTCZAR", "bidPrice": "90", "askPrice": "91", "lastTradedPrice": "90",
                  "created": "2026-01-01T00:00:01.000Z"}},
        {"type": "MARKET_SUMMARY_UPDATE", "data": {"currencyPair": "x'; DROP TABLE", "bidPrice": "1"}},
        {"type": "MARKET_SUMMARY_UPDATE", "data": {"currencyPair": "ETHZAR", "bidPrice": "NaN"}},
        "not an object",
    ]
    import json
    fired = orders.sql("SELECT * FROM lth_pvr.record_market_prices(%s::jsonb, 'ws')", (json.dumps(frames),))
    assert fired == []  # no order has a price fallback: nothing fires
    assert orders.sql("SELECT pair, bid, ask, last, source FROM lth_pvr.market_prices") == [
        ("BTCZAR", Decimal("100"), Decimal("101"), Decimal("100"), "ws")]
    # A REST answer VALR stamped before the held price does not replace it (VALR caches it for 10 s).
    stale = {"currencyPair": "BTCZAR", "bidPrice": "80", "askPrice": "81", "created": "2026-01-01T00:00:00.000Z"}
    orders.sql("SELECT * FROM lth_pvr.record_market_prices(%s::jsonb, 'rest')", (json.dumps([stale]),))
    assert price(orders, "BTCZAR")["bid"] == Decimal("100")
    fresh = dict(stale, bidPrice="110", askPrice="111", created="2026-01-01T00:00:03.000Z")
    orders.sql("SELECT * FROM lth_pvr.record_market_prices(%s::jsonb, 'rest')", (json.dumps([fresh]),))
    assert (price(orders, "BTCZAR")["bid"], price(orders, "BTCZAR")["source"]) == (Decimal("110"), "rest")
