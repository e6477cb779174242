"""Market orders end to end: order_type 'market' (no price) inserted with SQL is placed once through
POST /v1/orders/market with baseAmount = qty, both sides, by the same claim → socket first → POST
machinery as limit orders, and followed to VALR's final word (filled, cancelled due to slippage,
failed for lack of funds), including a lost placement answer resolved by customerOrderId."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from tests.harness import wait_for

pytestmark = pytest.mark.slow


def violated(orders, sql: str, params: tuple) -> str:
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        orders.sql(sql, params)
    return caught.value.diag.constraint_name


def test_order_type_rules_are_named_constraints(orders):
    account = orders.account("")
    insert = """INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, qty, price, order_type)
                VALUES (%s, gen_random_uuid(), 'BTCZAR', 'BUY', 0.0001, %s, %s)"""
    assert violated(orders, insert, (account, None, "limit")) == "limit_order_must_have_price"
    assert violated(orders, insert, (account, 1000000, "market")) == "market_order_must_not_have_price"
    assert violated(orders, insert, (account, 1000000, "stop")) == "order_type_must_be_limit_or_market"
    with pytest.raises(psycopg.errors.CheckViolation, match="market_order_cannot_be_post_only"):
        orders.sql("""INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, qty,
                                                           order_type, post_only)
                      VALUES (%s, gen_random_uuid(), 'BTCZAR', 'SELL', 0.0001, 'market', true)""", (account,))
    limit_id, _ = orders.insert(account)
    market_id, _ = orders.insert_market(account)
    assert orders.get(limit_id)["order_type"] == "limit"  # the default: existing SQL keeps working
    assert (orders.get(market_id)["order_type"], orders.get(market_id)["price"]) == ("market", None)


def test_market_orders_both_sides_are_placed_with_base_amount_and_filled_over_the_websocket(sim, orders,
                                                                                           start_worker):
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000")
    start_worker()
    buy_id, buy_intent = orders.insert_market(account, qty="0.0002", side="BUY")
    sell_id, sell_intent = orders.insert_market(account, qty="0.0003", side="SELL")

    bought = orders.wait_status(buy_id, "filled")
    sold = orders.wait_status(sell_id, "filled")
    assert (bought["filled_qty"], bought["avg_price"]) == (Decimal("0.0002"), Decimal("1000000"))
    assert (sold["filled_qty"], sold["avg_price"]) == (Decimal("0.0003"), Decimal("999000"))
    truth = {o["customerOrderId"]: o for o in sim.truth()["orders"]}
    assert bought["ext_order_id"] == truth[str(buy_intent)]["orderId"]
    assert sold["ext_order_id"] == truth[str(sell_intent)]["orderId"]
    assert (truth[str(buy_intent)]["side"], truth[str(sell_intent)]["side"]) == ("buy", "sell")
    rest = sim.counters()["rest"]
    assert rest.get("POST /v1/orders/market") == 2 and "POST /v1/orders/limit" not in rest
    assert sim.status_lookups() == 0
    assert orders.sql("""SELECT count(*) FROM lth_pvr.order_events
                          WHERE exchange_order_id IN (%s, %s) AND new_status = 'filled' AND source = 'ws'""",
                      (buy_id, sell_id)) == [(2,)]


def test_market_order_partly_filled_then_cancelled_due_to_slippage_keeps_its_fills(sim, orders, start_worker):
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000", level_qty="0.0001", level_step="0.0005",
               slippage_band="0.0006")
    start_worker()
    order_id, _ = orders.insert_market(account, qty="0.0005")
    cancelled = orders.wait_status(order_id, "cancelled")
    wait_for(lambda: len(orders.fills(order_id)) == 2, what="both fills")
    assert orders.get(order_id)["filled_qty"] == Decimal("0.0002")
    assert cancelled["raw"]["valr"]["orderStatusType"] == "Partially Filled and Cancelled Due To Slippage"


def test_market_order_without_the_funds_fails_with_valrs_reason(sim, orders, start_worker):
    account = orders.account("44")
    sim.balance("44", "ZAR", "50")
    start_worker()
    order_id, _ = orders.insert_market(account, qty="0.0001")
    failed = orders.wait_status(order_id, "failed")
    assert failed["failed_reason"] == "Insufficient Balance"
    assert failed["ext_order_id"] is not None and orders.fills(order_id) == []


def test_lost_market_placement_is_looked_up_by_customer_order_id_and_never_placed_twice(sim, orders,
                                                                                        start_worker):
    account = orders.account("")
    # The answer is lost and the socket delivers nothing: only the lookup by customerOrderId can tell.
    sim.faults(lose_placement_answers=1, silent=True)
    worker = start_worker()
    order_id, intent = orders.insert_market(account, qty="0.0001", side="SELL")
    resolved = wait_for(lambda: orders.get(order_id)["ext_order_id"], timeout=40, what="the lookup")
    assert resolved == sim.order_by_customer_id(str(intent))[0]["orderId"]
    assert len(sim.order_by_customer_id(str(intent))) == 1
    assert sim.counters()["rest"].get("POST /v1/orders/market") == 1
    assert "placement answer lost" in worker.log()
    assert orders.wait_status(order_id, "filled", timeout=40)["filled_qty"] == Decimal("0.0001")


def test_a_market_order_whose_frames_are_lost_is_looked_up_within_seconds(sim, orders, start_worker):
    # Issue 21 item 11: VALR executes a market order at once; when its frames are lost it is looked up
    # market_order_lookup_seconds after VALR accepted it, not at the safety net's 10-minute tick
    # (which never runs here).
    orders.settle(market_order_lookup_seconds=1)
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000")
    sim.faults(drop_fraction=1.0)  # every event of the account socket lost
    start_worker()
    order_id, intent = orders.insert_market(account, qty="0.0002")
    filled = orders.wait_status(order_id, "filled", timeout=15)
    assert sim.order_by_customer_id(str(intent))[0]["status"] == "Filled"
    assert (filled["filled_qty"], filled["avg_price"]) == (Decimal("0.0002"), Decimal("1000000"))
    assert orders.sql("SELECT source FROM lth_pvr.order_events WHERE exchange_order_id = %s "
                      "AND new_status = 'filled'", (order_id,)) == [("poll",)]
    assert (filled["updated_at"] - filled["submitted_at"]).total_seconds() < 10
    assert sim.counters()["rest"].get("POST /v1/orders/market") == 1


def test_a_market_order_whose_worker_was_killed_between_claim_and_post_is_placed_once(sim, orders, start_worker):
    # Issue 21 item 9: the claim is committed, its request waits for the account socket, and the worker
    # dies (kill -9) before the POST: nothing left, so the order is placed again — not failed.
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000")
    sim.faults(hold_authentication=True)  # the claimed order waits for its socket, unsent
    first = start_worker("--socket-wait", "60")
    order_id, intent = orders.insert_market(account, qty="0.0002")
    claimed = wait_for(lambda: (o := orders.get(order_id))["status"] == "placing" and o, what="the claim")
    first.kill()
    assert claimed["placement_sent_at"] is None
    sim.faults(hold_authentication=False)
    start_worker()
    filled = orders.wait_status(order_id, "filled", timeout=30)
    assert (filled["filled_qty"], filled["placement_requeues"], filled["failed_reason"]) == (Decimal("0.0002"), 1, None)
    assert sim.counters()["rest"].get("POST /v1/orders/market") == 1
    assert len(sim.order_by_customer_id(str(intent))) == 1
    # (kind `insert`: a `pair_unchecked` row when the order came before the worker's first pair refresh)
    assert orders.sql("SELECT kind, outcome FROM lth_pvr.order_events WHERE exchange_order_id = %s "
                      "AND new_status = 'pending' AND kind <> 'insert'", (order_id,)) == [("claim", "placed_again")]
