"""Pair rules from VALR: `valr-monitor pairs` fills lth_pvr.pairs from the simulator's GET
/v1/public/pairs (VALR's documented shape) through lth_pvr.refresh_pairs, and inserts are checked
against it — unknown pairs accepted with a warning only while the table was never refreshed, VALR's
minimum and maximum amounts and active flag enforced with named errors."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import psycopg
import pytest
from click.testing import CliRunner

from tests.support.inprocess import worker_io
from worker.cli import main
from worker.lab.sim.pairs import CATALOGUE, ETHZAR

# VALR's own published /v1/public/pairs item (Postman collection, "Currency Pairs"), verbatim.
VALR_ETHZAR = {
    "symbol": "ETHZAR", "baseCurrency": "ETH", "quoteCurrency": "ZAR", "shortName": "ETH/ZAR", "active": True,
    "minBaseAmount": "0.0002", "maxBaseAmount": "69.21", "minQuoteAmount": "10", "maxQuoteAmount": "5000000",
    "tickSize": "1", "baseDecimalPlaces": "8", "marginTradingAllowed": True, "currencyPairType": "SPOT",
    "initialMarginFraction": "0.2", "maintenanceMarginFraction": "0.1", "autoCloseMarginFraction": "0.033333333",
}
VALR_LTCBTC = {
    "symbol": "LTCBTC", "baseCurrency": "LTC", "quoteCurrency": "BTC", "shortName": "LTC/BTC", "active": False,
    "minBaseAmount": "0.0043", "maxBaseAmount": "15.67", "minQuoteAmount": "0.000016", "maxQuoteAmount": "0.0512",
    "tickSize": "0.000001", "baseDecimalPlaces": "8", "marginTradingAllowed": False, "currencyPairType": "SPOT",
}


def refresh(orders, pairs: list, order_types: list | None = None) -> tuple:
    return orders.sql("SELECT * FROM lth_pvr.refresh_pairs(%s::jsonb, %s::jsonb)",
                      (json.dumps(pairs), None if order_types is None else json.dumps(order_types)))[0]


def insert_error(orders, account, **values) -> psycopg.errors.IntegrityError:
    with pytest.raises(psycopg.errors.IntegrityError) as caught:
        orders.insert(account, **values)
    return caught.value


def test_simulator_serves_valrs_documented_pair_shape(sim):
    served = sim.http.get("/v1/public/pairs").json()
    assert ETHZAR == VALR_ETHZAR and VALR_ETHZAR in served
    assert set(VALR_ETHZAR) <= set().union(*map(set, served))
    assert {"BTCZAR", "ETHZAR", "USDCZAR", "USDTZAR", "BTCUSDT"} <= {p["symbol"] for p in served}
    types = sim.http.get("/v1/public/ordertypes").json()
    assert {"currencyPair": "LTCBTC", "orderTypes": []} in types
    assert "LIMIT_POST_ONLY" in sim.http.get("/v1/public/BTCZAR/ordertypes").json()


def test_pairs_command_refreshes_the_table_from_valr(sim, orders, worker_url):
    result = CliRunner().invoke(main, ["pairs", "--database-url", worker_url, "--valr-base-url", sim.base_url,
                                       "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["refresh"]["pairs_listed"] == len(CATALOGUE) and report["refresh"]["items_skipped"] == 0
    rows = {r[0]: r[1:] for r in orders.sql(
        "SELECT pair, tick_size, base_decimal_places, min_base_amount, max_base_amount, min_quote_amount, "
        "max_quote_amount, active, 'LIMIT_POST_ONLY' = ANY (order_types), refreshed_at IS NOT NULL FROM lth_pvr.pairs")}
    assert rows["ETHZAR"] == (Decimal("1"), 8, Decimal("0.0002"), Decimal("69.21"), Decimal("10"),
                              Decimal("5000000"), True, True, True)
    assert rows["USDTZAR"][:2] == (Decimal("0.001"), 6) and rows["BTCUSDT"][6] is True
    assert rows["LTCBTC"][6] is False and rows["LTCBTC"][7] is False
    assert sim.counters()["rest"]["GET /v1/public/pairs"] == 1


def test_refresh_marks_unlisted_pairs_inactive_and_skips_unreadable_items(orders):
    refresh(orders, CATALOGUE)
    listed, changed, deactivated, skipped = refresh(orders, [VALR_ETHZAR, {"symbol": "BADPAIR"}, "x"])
    assert (listed, skipped) == (1, 2) and deactivated == len(CATALOGUE) - 2  # LTCBTC was inactive already
    assert orders.sql("SELECT active FROM lth_pvr.pairs WHERE pair = 'BTCZAR'") == [(False,)]
    assert refresh(orders, [VALR_ETHZAR])[1] == 0  # nothing changed the second time
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        refresh(orders, [])  # an empty answer must not deactivate everything


def test_unknown_pair_is_accepted_with_a_warning_until_the_table_is_refreshed(orders):
    account = orders.account("p1")
    order_id, _ = orders.insert(account, pair="DOGEZAR", qty="100", price="2")
    warning = orders.sql("SELECT source, kind, outcome, detail FROM lth_pvr.order_events "
                         "WHERE exchange_order_id = %s", (order_id,))
    assert [w[:3] for w in warning] == [("system", "insert", "pair_unchecked")]
    assert "never refreshed" in warning[0][3]
    refresh(orders, [VALR_ETHZAR, VALR_LTCBTC])
    err = insert_error(orders, account, pair="DOGEZAR", qty="100", price="2")
    assert err.diag.constraint_name == "pair_must_be_known_to_valr"
    err = insert_error(orders, account, pair="LTCBTC", qty="0.01", price="0.001")
    assert err.diag.constraint_name == "pair_must_be_active"


@pytest.mark.parametrize("qty, price, rule", [
    ("0.0001", "50000", "qty_must_reach_min_base_amount"),       # VALR: min 0.0002 ETH
    ("70", "50000", "qty_must_not_exceed_max_base_amount"),      # max 69.21 ETH
    ("0.0002", "40000", "value_must_reach_min_quote_amount"),    # R8 < R10
    ("60", "100000", "value_must_not_exceed_max_quote_amount"),  # R6,000,000 > R5,000,000
])
def test_amounts_outside_valrs_limits_are_refused_on_insert(orders, qty, price, rule):
    refresh(orders, [VALR_ETHZAR])
    account = orders.account("p2")
    err = insert_error(orders, account, pair="ETHZAR", qty=qty, price=price)
    assert err.diag.constraint_name == rule
    orders.insert(account, pair="ETHZAR", qty="0.0003", price="50000")  # within every limit


def test_order_type_the_pair_does_not_support_is_refused(orders):
    refresh(orders, [VALR_ETHZAR], [{"currencyPair": "ETHZAR", "orderTypes": ["LIMIT", "MARKET"]}])
    account = orders.account("p3")
    orders.insert(account, pair="ETHZAR", qty="0.001", price="50000")
    with pytest.raises(psycopg.errors.IntegrityError) as caught:
        orders.insert(account, pair="ETHZAR", qty="0.001", price="50000", post_only=True)
    assert caught.value.diag.constraint_name == "order_type_must_be_supported_by_pair"
    # Order types VALR could not give now: those held are kept.
    refresh(orders, [VALR_ETHZAR], None)
    assert orders.sql("SELECT order_types FROM lth_pvr.pairs WHERE pair = 'ETHZAR'") == [(["LIMIT", "MARKET"],)]


def insert_market(orders, account, qty: str, pair: str = "ETHZAR") -> None:
    orders.sql("INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, qty, order_type) "
               "VALUES (%s, gen_random_uuid(), %s, 'BUY', %s, 'market')", (account, pair, qty))


@pytest.mark.parametrize("qty, price_seen, rule", [
    ("0.0001", None, "qty_must_reach_min_base_amount"),            # VALR: min 0.0002 ETH
    ("70", None, "qty_must_not_exceed_max_base_amount"),           # max 69.21 ETH
    ("0.0002", "40000", "value_must_reach_min_quote_amount"),      # R8 at the last ask < R10
    ("60", "100000", "value_must_not_exceed_max_quote_amount"),    # R6,000,000 > R5,000,000
])
def test_a_market_order_meets_the_pair_rules_at_the_last_price_seen(orders, qty, price_seen, rule):
    refresh(orders, [VALR_ETHZAR])
    account = orders.account("m1")
    if price_seen:
        orders.sql("INSERT INTO lth_pvr.market_prices (pair, bid, ask, last, source, received_at) "
                   "VALUES ('ETHZAR', %s, %s, %s, 'ws', now())", (price_seen, price_seen, price_seen))
    with pytest.raises(psycopg.errors.IntegrityError) as caught:
        insert_market(orders, account, qty)
    assert caught.value.diag.constraint_name == rule
    insert_market(orders, account, "0.0003")  # within every limit


def test_a_market_order_without_a_price_seen_meets_the_base_rules_only(orders):
    refresh(orders, [VALR_ETHZAR])
    account = orders.account("m2")
    insert_market(orders, account, "0.0002")  # no price known: its value is not judged
    assert orders.sql("SELECT order_type, qty, status FROM lth_pvr.exchange_orders WHERE exchange_account_id = %s",
                      (account,)) == [("market", Decimal("0.0002"), "pending")]


def test_a_market_order_on_a_pair_without_market_orders_is_refused(orders):
    refresh(orders, [VALR_ETHZAR], [{"currencyPair": "ETHZAR", "orderTypes": ["LIMIT_POST_ONLY", "LIMIT"]}])
    account = orders.account("m3")
    with pytest.raises(psycopg.errors.IntegrityError) as caught:
        insert_market(orders, account, "0.001")
    assert caught.value.diag.constraint_name == "order_type_must_be_supported_by_pair"
    orders.insert(account, pair="ETHZAR", qty="0.001", price="50000")  # a limit order is


def test_a_fresh_install_refuses_nothing_valr_accepts(orders):
    """No seeded rule stricter than VALR's: before the first refresh the table holds none, and orders
    VALR fills (USDCZAR at 19.3017, a tick of 0.0001; BTCZAR 0.00001) are accepted with the warning."""
    assert orders.sql("SELECT count(*) FROM lth_pvr.pairs") == [(0,)]
    account = orders.account("f1")
    for pair, qty, price in (("USDCZAR", "10", "19.3017"), ("BTCZAR", "0.00001", "1150000")):
        order_id, _ = orders.insert(account, pair=pair, qty=qty, price=price)
        assert orders.sql("SELECT outcome FROM lth_pvr.order_events WHERE exchange_order_id = %s",
                          (order_id,)) == [("pair_unchecked",)]


def test_an_order_placed_elsewhere_is_recorded_whatever_the_minimums(orders):
    refresh(orders, [VALR_ETHZAR])
    account = orders.account("p4")
    # Below VALR's 0.0002 ETH minimum: refused as an order to place, recorded as one VALR already holds.
    assert insert_error(orders, account, pair="ETHZAR", qty="0.0001", price="50000").diag.constraint_name == \
        "qty_must_reach_min_base_amount"
    orders.insert(account, pair="ETHZAR", qty="0.0001", price="50000", status="submitted", ext_order_id="x-1")
    assert orders.sql("SELECT status, qty FROM lth_pvr.exchange_orders WHERE ext_order_id = 'x-1'") == \
        [("submitted", Decimal("0.0001"))]


def test_pair_refresh_falls_due_pair_refresh_hours_after_the_last_one(orders, worker_url):
    async def due() -> bool:  # the worker's own call, as its login
        async with worker_io(worker_url, "http://unused") as (store, _):
            return await store.pair_refresh_due()

    assert asyncio.run(due())  # never refreshed
    refresh(orders, [VALR_ETHZAR])
    assert not asyncio.run(due())
    orders.sql("UPDATE lth_pvr.pair_refreshes SET refreshed_at = refreshed_at - make_interval(hours => "
               "(SELECT value::int FROM lth_pvr.settings WHERE name = 'pair_refresh_hours'))")
    assert asyncio.run(due())
