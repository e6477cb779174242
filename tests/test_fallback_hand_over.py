"""The fallback's second leg without a hop: the transaction that records VALR's Cancelled and inserts the
market replacement also claims it for the recording session's worker and stamps its first attempt
(hand_over_replacements, called with record_batch), so the POST leaves right after the commit. The
placement guarantees stay: placed once, claimed like any claim, only for a worker that may place, never
after a person's cancel, and a worker killed between the commit and the POST leaves an order the
lost-placement lookup settles — still one market order at VALR."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from psycopg.types.json import Jsonb

from tests.harness import wait_for
from tests.support.inprocess import eventually, session_context
from tests.support.sql import (
    T0, at, cancelled, fallback_order, fire_age, lease, listener, make_account, one, open_session, order, received,
    replacement, rows, scalar,
)
from worker.daemon.fallbacks_first import FallbacksFirst
from worker.daemon.session import SubaccountSession

QTY = "0.001"
MARKET_POST = "POST /v1/orders/market"


# -- SQL: what is handed over, and to whom ------------------------------------------------------------

def record_and_hand_over(conn, session: int, frames: list[dict], now=None) -> list[dict]:
    """What the worker's record_batch call does (worker/db/store.py): both in one transaction."""
    now = now or at(minutes=7)
    with conn.transaction():
        finished = [r["exchange_order_id"] for r in rows(
            conn, "SELECT * FROM lth_pvr.record_batch(%s, %s, %s) WHERE lth_pvr.is_final(new_status)",
            (session, Jsonb(frames), now))]
        return one(conn, "SELECT lth_pvr.hand_over_replacements(%s, %s, %s) AS p", (session, finished, now))["p"]


def cancelled_frame(ext: str) -> dict:
    return {"type": "ORDER_STATUS_UPDATE", "data": cancelled(ext, remaining=QTY)}


def fired_fallback(conn) -> tuple[object, str, int]:
    account = make_account(conn)
    order_id, ext = fallback_order(conn, account, after="5 minutes")
    fire_age(conn, order_id)
    return order_id, ext, open_session(conn, account)


def test_the_replacement_is_claimed_and_its_attempt_stamped_in_the_recording_transaction(postgresql):
    order_id, ext, session = fired_fallback(postgresql)
    [placement] = record_and_hand_over(postgresql, session, [cancelled_frame(ext)])
    market = replacement(postgresql, order_id)
    assert placement["exchange_order_id"] == placement["customer_order_id"] == str(market["exchange_order_id"])
    assert (placement["order_type"], placement["qty"], placement["price"], placement["placement_attempts"]) == (
        "market", QTY, None, 0)
    assert placement["send_within_seconds"] == scalar(
        postgresql, "SELECT lth_pvr.setting('placement_grace_seconds') / 2")
    # As claim_pending_orders and begin_placement leave it: claimed by the session's worker, sent once.
    assert (market["status"], market["claimed_by"], market["placement_attempts"]) == ("placing", "w1", 1)
    assert market["claimed_at"] == market["placement_sent_at"] == at(minutes=7)
    assert scalar(postgresql, """SELECT count(*) FROM lth_pvr.order_events WHERE exchange_order_id = %s
                                   AND kind = 'claim' AND outcome = 'applied'""", (market["exchange_order_id"],)) == 1
    # Nothing left for the usual claim, and VALR's word repeated hands nothing over again.
    assert rows(postgresql, "SELECT * FROM lth_pvr.claim_pending_orders('w1', NULL, 100, p_now => %s)",
                (at(minutes=8),)) == []
    assert record_and_hand_over(postgresql, session, [cancelled_frame(ext)], at(minutes=8)) == []


def test_a_worker_whose_key_valr_refused_is_handed_nothing_and_the_replacement_waits(postgresql):
    order_id, ext, session = fired_fallback(postgresql)
    postgresql.execute("UPDATE lth_pvr.workers SET auth_refused_at = %s WHERE worker_id = 'w1'", (T0,))
    assert record_and_hand_over(postgresql, session, [cancelled_frame(ext)]) == []
    assert replacement(postgresql, order_id)["status"] == "pending"  # for the usual claim, once allowed


def test_a_persons_cancel_before_valrs_word_hands_nothing_over(postgresql):
    order_id, ext, session = fired_fallback(postgresql)
    assert scalar(postgresql, "SELECT lth_pvr.request_cancel(%s, %s)", (order_id, at(minutes=6))) == "fallback_off"
    assert record_and_hand_over(postgresql, session, [cancelled_frame(ext)]) == []
    assert replacement(postgresql, order_id) is None and order(postgresql, order_id)["status"] == "cancelled"


def test_a_batch_that_finishes_nothing_hands_nothing_over(postgresql):
    _, ext, session = fired_fallback(postgresql)
    lease(postgresql, "w1")
    assert record_and_hand_over(postgresql, session, [{"type": "AUTHENTICATED"}]) == []


def test_a_replacement_handed_over_wakes_no_one_and_one_left_pending_wakes_the_runner(postgresql, db_url):
    """lth_pvr_pending is sent at commit for an order still pending then: the handed-over replacement is
    claimed by then (a NOTIFY would only wake the runner to claim nothing, and a tick with it); one the
    hand-over could not claim (the worker's key refused) waits for the runner's claim, which the NOTIFY
    wakes. Notifications arrive in commit order: the first one heard is the second account's."""
    handed, handed_ext, handed_session = fired_fallback(postgresql)
    left, left_ext, left_session = fired_fallback(postgresql)
    postgresql.commit()
    with listener(db_url, "lth_pvr_pending") as listen:
        postgresql.execute("SET ROLE valr_worker")  # the worker's commit runs the deferred NOTIFY trigger
        assert len(record_and_hand_over(postgresql, handed_session, [cancelled_frame(handed_ext)])) == 1
        postgresql.commit()
        postgresql.execute("RESET ROLE")
        postgresql.execute("UPDATE lth_pvr.workers SET auth_refused_at = %s WHERE worker_id = 'w1'", (T0,))
        postgresql.execute("SET ROLE valr_worker")
        assert record_and_hand_over(postgresql, left_session, [cancelled_frame(left_ext)]) == []
        postgresql.commit()
        postgresql.execute("RESET ROLE")
        assert received(listen, expect=1) == [("lth_pvr_pending", str(order(postgresql, left)["exchange_account_id"]))]
    assert (replacement(postgresql, handed)["status"], replacement(postgresql, left)["status"]) == ("placing", "pending")


# -- the session: the POST right after the commit, once -----------------------------------------------

def test_the_recording_session_posts_the_replacement_once_with_no_runner_to_claim_it(sim, orders, worker_url):
    """No runner (no NOTIFY listener, no claim loop): only the hand-over can place the replacement."""
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000")

    async def scenario() -> dict:
        async with session_context(worker_url, sim.base_url) as ctx:
            session, order_id, intent = await fallback_requested(ctx, orders, account)
            await asyncio.to_thread(sim.cancel, str(intent))  # VALR carries out the fallback's DELETE
            market = await eventually(lambda: (r := replacement_row(orders, order_id)) and r["status"] == "filled"
                                      and r, what="the replacement placed and filled")
            await session.stop("test over")
            return market

    market = asyncio.run(scenario())
    assert market["qty"] == Decimal(QTY) and market["placement_attempts"] == 1
    assert sim.counters()["rest"].get(MARKET_POST) == 1
    assert len(sim.order_by_customer_id(str(market["exchange_order_id"]))) == 1


def test_the_replacement_leaves_at_once_and_its_answer_waits_for_the_fallbacks_still_in_flight(
        sim, orders, worker_url):
    """Fallbacks first: another fallback's cancel still waits for VALR's word, so the work that can wait
    waits — here, recording the replacement's placement answer — until that word or the hold's end; the
    replacement's POST itself does not wait, and the session settles the fallback its read finished."""
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000")
    hold_s = 2.0

    async def scenario() -> tuple[float, float, int]:
        fallbacks = FallbacksFirst(hold_max_s=hold_s)
        async with session_context(worker_url, sim.base_url, fallbacks=fallbacks) as ctx:
            session, order_id, intent = await fallback_requested(ctx, orders, account)
            started = time.time()
            fallbacks.started([order_id, uuid.uuid4()])  # ours, and one whose word has not come
            await asyncio.to_thread(sim.cancel, str(intent))  # VALR carries out the fallback's DELETE
            market = await eventually(lambda: replacement_row(orders, order_id), what="the replacement")
            [accepted] = await eventually(lambda: sim.order_by_customer_id(str(market["exchange_order_id"])),
                                          what="the market POST at VALR")
            waiting = fallbacks.waiting
            answered = await eventually(lambda: orders.sql("""
                SELECT extract(epoch FROM received_at) FROM lth_pvr.order_events
                 WHERE exchange_order_id = %s AND kind = 'placement'""", (market["exchange_order_id"],)),
                timeout=hold_s + 10, what="the placement answer recorded")
            await session.stop("test over")
            post = datetime.fromisoformat(accepted["createdAt"].replace("Z", "+00:00")).timestamp()
            return post - started, float(answered[0][0]) - started, waiting

    post_after, answer_after, waiting = asyncio.run(scenario())
    assert post_after < hold_s / 2, "the replacement's POST waited for the other fallback"
    assert answer_after >= hold_s - 0.05, "the placement answer did not wait for the fallback in flight"
    assert waiting == 1  # ours settled by the read that recorded VALR's word; the other still held


async def fallback_requested(ctx, orders, account) -> tuple[SubaccountSession, object, object]:
    """A limit order placed and watched by its own session (no runner), its age fallback requested in SQL."""
    order_id, intent = orders.insert(account, qty=QTY, price="950000")
    await ctx.store.acquire_leases(60)
    session = SubaccountSession(ctx, account, "")
    session.start()
    await session.place(await ctx.store.claim_pending_orders([account]))
    await eventually(lambda: orders.get(order_id)["ws_monitored_at"], what="the order watched")
    orders.sql("SELECT lth_pvr.request_fallback(%s, 'age', NULL, NULL)", (order_id,))
    return session, order_id, intent


def replacement_row(orders, order_id) -> dict | None:
    ids = orders.sql("SELECT exchange_order_id FROM lth_pvr.exchange_orders WHERE replaces_order_id = %s", (order_id,))
    return orders.get(ids[0][0]) if ids else None


@pytest.mark.slow
def test_a_worker_killed_between_the_commit_and_the_post_still_buys_once(sim, orders, start_worker):
    """The market POST hangs at VALR and is never carried out (a dropped request) while its worker is
    killed: VALR holds nothing and the replacement is `placing` with its attempt stamped — what a kill
    between the commit and the POST leaves. The next worker's lost-placement lookup finds nothing by
    customerOrderId, the grace passes, it is placed again: one market order at VALR."""
    orders.settle(placement_grace_seconds=3)
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000")
    sim.faults(rest_error={"status": "drop", "count": 1, "route": MARKET_POST, "hold_s": 60})
    first = start_worker()
    order_id, intent = orders.insert(account, qty=QTY, price="950000", fallback_after="2 seconds")
    wait_for(lambda: sim.counters()["rest"].get(MARKET_POST) == 1, timeout=30, what="the market POST sent")
    stamped = replacement_row(orders, order_id)
    assert (stamped["status"], stamped["placement_attempts"]) == ("placing", 1)
    assert stamped["placement_sent_at"] == stamped["claimed_at"]  # one transaction: handed over as recorded
    first.kill()
    start_worker()
    market = wait_for(lambda: (r := replacement_row(orders, order_id))["status"] == "filled" and r, timeout=60,
                      what="the replacement placed again and filled")
    assert market["placement_requeues"] == 1 and market["qty"] == Decimal(QTY)
    assert len(sim.order_by_customer_id(str(market["exchange_order_id"]))) == 1
    executed = sum(Decimal(t["quantity"]) for t in sim.truth()["trades"]
                   if t["customerOrderId"] in (str(intent), str(market["exchange_order_id"])))
    assert executed == Decimal(QTY)
