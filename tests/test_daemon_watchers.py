"""PriceWatch and the due timers in-process: each built on a WatchContext over the real database (as the
worker login) and, for prices, the simulator's real trade socket and REST — no runner, no subprocess.
What falls due and what fires is SQL's; these show each watcher asks at the right time and passes on what
SQL answers (cancels to send now, a tick to run now)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from tests.support.inprocess import eventually, running, watch_context
from worker.daemon.fallback import FallbackTimer, MarketLookupTimer
from worker.daemon.prices import PriceWatch
from worker.db.store import Store

pytestmark = pytest.mark.slow


async def submitted(store: Store, account, order_id) -> None:
    """pending → placing → submitted through the worker's own calls (the timers follow leased accounts)."""
    await store.acquire_leases(60)
    assert [o["exchange_order_id"] for o in await store.claim_pending_orders([account])] == [order_id]
    assert (await store.record_placement(order_id, f"valr-{order_id}"))["status"] == "submitted"


def test_fallback_timer_requests_the_cancel_when_sql_says_it_is_due_and_sends_it_now(sim, orders, worker_url):
    account = orders.account("")
    order_id, _ = orders.insert(account, price="950000", fallback_after="1 second")

    async def scenario():
        async with watch_context(worker_url, sim.base_url) as (ctx, asked):
            await submitted(ctx.store, account, order_id)
            assert 0 < await ctx.store.next_fallback_due() <= 1
            async with running(FallbackTimer(ctx)):
                await eventually(lambda: asked.cancels_sent, what="the cancels sent now")
            return orders.get(order_id), asked

    order, asked = asyncio.run(scenario())
    assert order["fallback_requested_at"] - order["submitted_at"] >= order["fallback_after"]
    # Claimed in the transaction that requested it (hand_over_cancels): sent now, nothing left to claim.
    assert [c["exchange_order_id"] for c in asked.handed_over] == [order_id] and asked.claims == 0
    assert order["cancel_requested_at"] == order["cancel_sent_at"] and order["cancel_attempts"] == 1


def test_market_lookup_timer_marks_a_silent_market_order_poll_due_and_wakes_the_tick(sim, orders, worker_url):
    orders.settle(market_order_lookup_seconds=1)
    account = orders.account("")
    order_id, _ = orders.insert_market(account)

    async def scenario():
        async with watch_context(worker_url, sim.base_url) as (ctx, asked):
            await submitted(ctx.store, account, order_id)
            assert orders.get(order_id)["poll_due_at"] is None
            async with running(MarketLookupTimer(ctx)):
                await eventually(lambda: asked.wakes, what="the tick woken")
            assert asked.cancels_sent == 0

    asyncio.run(scenario())
    order = orders.get(order_id)
    assert (order["poll_due_at"] - order["submitted_at"]).total_seconds() >= 1


def test_price_watch_records_the_socket_price_and_sends_the_cancels_its_trigger_fires(sim, orders, worker_url):
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000")
    order_id, _ = orders.insert(account, price="995000", fallback_price_move="0.01")

    def recorded():
        return orders.sql("SELECT ask, source FROM lth_pvr.market_prices WHERE pair = 'BTCZAR'")

    async def scenario():
        async with watch_context(worker_url, sim.base_url) as (ctx, asked):
            await submitted(ctx.store, account, order_id)
            async with running(PriceWatch(ctx)):
                await eventually(lambda: recorded() == [(Decimal("1000000"), "ws")], what="the price from the socket")
                assert asked.cancels_sent == 0
                moved = time.time()
                await asyncio.to_thread(sim.market, "BTCZAR", bid="1019000", ask="1020000")  # 2 % past the BUY
                await eventually(lambda: asked.cancels_sent, what="the cancels sent now")
            return moved, asked

    moved, asked = asyncio.run(scenario())
    fired = orders.get(order_id)
    assert fired["fallback_price"] == Decimal("1020000")
    # Claimed in the transaction that recorded the price (hand_over_cancels): no claim round trip after.
    assert [c["exchange_order_id"] for c in asked.handed_over] == [order_id] and asked.claims == 0
    assert fired["cancel_requested_at"] == fired["cancel_sent_at"] and fired["cancel_attempts"] == 1
    assert fired["fallback_requested_at"].timestamp() - moved >= 0.5  # confirmed by a later read
