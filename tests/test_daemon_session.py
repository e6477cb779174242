"""A SubaccountSession in-process: its SessionContext built by hand over the real database (as the
least-privileged worker login) and the simulator's real REST and WebSocket ports — no runner, no
subprocess, no mocks. The session opens, places, records, reconnects, reconciles and closes as SQL says.
"""

from __future__ import annotations

import asyncio
import time

from tests.support.inprocess import eventually, session_context
from worker.daemon.session import CONNECT_ASKERS, SessionContext, SubaccountSession


async def placed_and_watched(ctx: SessionContext, orders, account) -> tuple[SubaccountSession, object, object]:
    """An order inserted with SQL, its session started as the runner would, the order placed."""
    order_id, intent = orders.insert(account)
    await ctx.store.acquire_leases(60)
    [work] = await ctx.store.account_work(account)
    assert work["wants_session"]  # SQL: pending work wants a socket
    session = SubaccountSession(ctx, account, work["subaccount_id"])
    session.start()
    await session.place(await ctx.store.claim_pending_orders([account]))
    return session, order_id, intent


def sessions(orders) -> list[tuple]:
    return orders.sql("SELECT close_reason, closed_with_error FROM lth_pvr.ws_sessions ORDER BY session_id")


def test_session_is_up_before_placing_records_the_fill_and_closes_when_sql_says_so(sim, orders, worker_url):
    account = orders.account("")

    async def scenario():
        async with session_context(worker_url, sim.base_url) as ctx:
            session, order_id, intent = await placed_and_watched(ctx, orders, account)
            placed = orders.get(order_id)
            assert placed["status"] == "submitted"
            assert placed["ws_monitored_at"] is not None and placed["ws_monitored_at"] <= placed["submitted_at"]
            await asyncio.to_thread(sim.fill, str(intent))
            await eventually(lambda: orders.status(order_id) == "filled", what="the fill over the socket")
            await asyncio.wait_for(session.task, 10)  # SQL's may_close: nothing open any more
            assert session.stop_reason == "no_open_orders"
            [work] = await ctx.store.account_work(account)
            assert work["may_close"] and not work["wants_session"]

    asyncio.run(scenario())
    assert len(orders.fills(orders.sql("SELECT exchange_order_id FROM lth_pvr.exchange_orders")[0][0])) == 1
    assert sessions(orders) == [("no_open_orders", False)]
    assert sim.status_lookups() == 0


def test_session_reconnects_and_reconciles_what_it_missed(sim, orders, worker_url):
    account = orders.account("")

    async def scenario():
        async with session_context(worker_url, sim.base_url) as ctx:
            session, order_id, intent = await placed_and_watched(ctx, orders, account)
            await asyncio.to_thread(sim.faults, silent=True)  # the fill's frames never arrive
            await asyncio.to_thread(sim.fill, str(intent))
            await asyncio.sleep(0.3)
            assert orders.status(order_id) == "submitted"
            await asyncio.to_thread(sim.faults, silent=False, close_sockets=True)
            # Reconnected, and SQL's reconcile_on_connect had it reconcile: GET /v1/orders/open no longer
            # lists the order, so it is looked up, with its trades.
            await eventually(lambda: orders.status(order_id) == "filled", what="the reconciliation")
            await asyncio.wait_for(session.task, 10)

    asyncio.run(scenario())
    closes = sessions(orders)
    assert len(closes) == 2 and closes[0][1] is True and closes[0][0].startswith("connection lost")
    assert closes[1] == ("no_open_orders", False)
    assert sim.counters()["rest"].get("GET /v1/orders/open", 0) >= 1
    assert len(orders.fills(orders.sql("SELECT exchange_order_id FROM lth_pvr.exchange_orders")[0][0])) == 1


def test_max_session_ends_the_session_and_sql_wants_no_other_for_open_orders_alone(sim, orders, worker_url):
    account = orders.account("")

    async def scenario():
        async with session_context(worker_url, sim.base_url, max_session_s=1.0) as ctx:
            session, order_id, _ = await placed_and_watched(ctx, orders, account)
            await asyncio.wait_for(session.task, 10)
            assert session.stop_reason == "max_session"
            [work] = await ctx.store.account_work(account)
            assert work["submitted_orders"] == 1 and not work["wants_session"]  # the safety net covers it
            orders.insert(account)                                               # new work
            [work] = await ctx.store.account_work(account)
            assert work["wants_session"]

    asyncio.run(scenario())
    assert sessions(orders) == [("max_session", False)]


def test_a_session_waiting_for_the_connection_budget_stops_at_once(sim, orders, worker_url):
    account = orders.account("")
    other = orders.account("9")

    async def scenario():
        async with session_context(worker_url, sim.base_url, ws_connects_per_minute=1) as ctx:
            await ctx.store.session_open_within_budget(other, 1)  # the minute's one connection is used
            session = SubaccountSession(ctx, account, "")
            session.start()
            await asyncio.sleep(0.5)
            assert not session.done and session.socket is None  # waiting ~60 s for the budget
            began = time.monotonic()
            await session.stop("shutdown")
            await asyncio.wait_for(session.task, 2)
            return time.monotonic() - began

    assert asyncio.run(scenario()) < 1.0
    assert orders.sql("SELECT count(*) FROM lth_pvr.ws_sessions WHERE exchange_account_id = %s", (account,)) == [(0,)]


def test_sessions_waiting_for_the_connection_budget_ask_in_turn_not_all_at_once(sim, orders, worker_url):
    """2,000 subaccounts on a cold start wait for VALR's 60 connections a minute: each slot that frees
    must cost about one budget call, not one per waiting session (that herd, on the budget's global
    lock, held the worker's pool for longer than a lease)."""
    other = orders.account("9")
    per_minute, waiting = 3, 40
    accounts = [orders.account(str(100 + i)) for i in range(waiting)]

    async def scenario() -> int:
        async with session_context(worker_url, sim.base_url, ws_connects_per_minute=per_minute) as ctx:
            asked = 0
            ask = ctx.store.session_open_within_budget

            async def counted(account, n):
                nonlocal asked
                asked += 1
                return await ask(account, n)
            ctx.store.session_open_within_budget = counted
            # The minute's connections were made 59.0 s, 58.9 s and 58.8 s ago: they leave the window
            # in turn, while every session below waits.
            orders.sql("""SELECT lth_pvr.session_open('earlier', %s, now() - make_interval(secs => 59.0 - k * 0.1))
                            FROM generate_series(0, 2) k""", (other,))
            started = [SubaccountSession(ctx, a, str(100 + i)) for i, a in enumerate(accounts)]
            for session in started:
                session.start()

            def opened() -> bool:
                return orders.sql("SELECT count(*) FROM lth_pvr.ws_sessions WHERE worker_id <> 'earlier'") == [(per_minute,)]
            await eventually(opened, what="the three freed slots taken")
            await asyncio.sleep(0.3)  # the rest wait ~60 s now: they must not keep asking meanwhile
            for session in started:
                await session.stop("shutdown")
            await asyncio.gather(*(s.task for s in started))
            return asked

    asked = asyncio.run(scenario())
    # Each session asks once on arrival; then only the line's head asks, a few times per freed slot
    # (all asking again at each freed slot: 40 + 40 + 39 + 38 = 157).
    assert asked <= waiting + 2 * CONNECT_ASKERS * (per_minute + 1), asked
