"""A read's frames go to SQL as the commits session.commits_of says: a fill's order frames committed
before the balances and history record VALR sends after them (docs/performance.md, 2026-12-06 late).
"""

from __future__ import annotations

import asyncio

from tests.support.inprocess import CREDENTIALS, eventually, session_context
from worker.daemon.session import SubaccountSession, commits_of
from worker.valr import AccountSocket
from worker.valr.events import LEDGER_EVENTS, AccountEvent
from worker.valr.framequeue import Batch, FrameQueue


def batch(*types: str, superseded: int = 0) -> Batch:
    read = Batch(AccountEvent(t, {}, {"type": t, "data": {"n": i}}, 0.0) for i, t in enumerate(types))
    read.superseded = superseded
    return read


def types_of(commits) -> list[list[str]]:
    return [[f["type"] for f in frames] for frames, _ in commits]


FILL = ("NEW_ACCOUNT_TRADE", "ORDER_STATUS_UPDATE", "OPEN_ORDERS_UPDATE",
        "BALANCE_UPDATE", "BALANCE_UPDATE", "NEW_ACCOUNT_HISTORY_RECORD")


def test_a_fills_order_frames_are_committed_before_its_ledger_frames():
    commits = commits_of(batch(*FILL, superseded=2))
    assert types_of(commits) == [list(FILL[:3]), list(FILL[3:])]
    assert [superseded for _, superseded in commits] == [2, 0]  # counted once, with the first


def test_a_dropped_list_is_counted_with_the_commit_whose_frames_it_stood_among():
    """Two fills read together (a backlog): the first fill's open-orders list, superseded by the
    second's, was dropped from the queue where it stood (before the first ledger frame). Each call's
    NOTIFY counts the frames received in its stretch of the read, so the first call reports its two
    frames and the second its nine plus the dropped list (before: 3 and 9, the bench's figure 1 then
    matched every later NOTIFY one frame off: `last_mismatch` under load)."""
    queue = FrameQueue(100, lambda text, at: None)

    async def receive() -> Batch:
        for i, kind in enumerate(FILL + FILL):
            await queue.put(AccountEvent(kind, {}, {"type": kind, "data": {"n": i}}, 0.0))
        return queue.take(100)

    read = asyncio.run(receive())
    assert read.superseded == 1 and len(read) == 2 * len(FILL) - 1
    commits = commits_of(read)
    assert types_of(commits) == [list(FILL[:2]), list(FILL[3:] + FILL)]
    assert [len(frames) + superseded for frames, superseded in commits] == [2, 2 * len(FILL) - 2]


def test_a_read_without_ledger_frames_or_beginning_with_one_is_one_commit_in_the_order_received():
    assert types_of(commits_of(batch(*FILL[:3]))) == [list(FILL[:3])]
    backlog = FILL[3:] + FILL  # the previous fill's ledger frames, then the next fill: nothing reordered
    assert types_of(commits_of(batch(*backlog))) == [list(backlog)]
    assert types_of(commits_of(batch())) == [[]]


def test_the_workers_ledger_events_are_sqls(orders):
    [(sql_types,)] = orders.sql("SELECT lth_pvr.ledger_frame_types()")
    assert LEDGER_EVENTS == set(sql_types)


def transactions(orders, order_id) -> dict[str, set[int]]:
    """The transaction (xmin) that wrote each kind of row of the order's fill."""
    rows = orders.sql(
        """SELECT 'fill', xmin::text FROM lth_pvr.order_fills WHERE exchange_order_id = %(o)s
           UNION ALL SELECT 'status', xmin::text FROM lth_pvr.order_events
            WHERE exchange_order_id = %(o)s AND kind = 'order_status' AND source = 'ws' AND new_status = 'filled'
           UNION ALL SELECT 'ledger', t.xmin::text FROM lth_pvr.account_transactions t
             JOIN lth_pvr.exchange_orders o ON t.additional_info->>'orderId' = o.ext_order_id
            WHERE o.exchange_order_id = %(o)s""", {"o": order_id})
    found: dict[str, set[int]] = {}
    for kind, xid in rows:
        found.setdefault(kind, set()).add(int(xid))
    return found


def test_a_fill_read_whole_commits_the_fill_before_its_ledger_rows(sim, orders, worker_url):
    """All six frames of a fill waiting together (one read, deterministic): the trade and status in
    one transaction, the ledger's rows in a later one."""
    account = orders.account("")

    async def scenario():
        async with session_context(worker_url, sim.base_url) as ctx:
            order_id, intent = orders.insert(account)
            await ctx.store.acquire_leases(60)
            placing = SubaccountSession(ctx, account, "")
            placing.start()
            await placing.place(await ctx.store.claim_pending_orders([account]))
            await placing.stop("test: the fill is read by the socket below")
            await asyncio.wait_for(placing.task, 10)
            session_id = (await ctx.store.session_open_within_budget(account, 1000))["session_id"]
            sent = sim.counters()["ws_events_sent"]
            async with AccountSocket(sim.base_url, CREDENTIALS, "") as sock:
                # What VALR sends on connecting (balances, the open-orders list): taken first, unrecorded.
                await eventually(lambda: sock.waiting_frames + sock.superseded_frames
                                 == sim.counters()["ws_events_sent"] - sent, what="the frames sent on connecting")
                await anext(sock.batches())
                await asyncio.to_thread(sim.fill, str(intent))
                await eventually(lambda: sock.waiting_frames == len(FILL), what="the fill's six frames, unread")
                reader = asyncio.create_task(SubaccountSession(ctx, account, "")._read(sock, session_id))
                await eventually(lambda: len(transactions(orders, order_id)) == 3, what="the fill and its ledger rows")
                reader.cancel()
            return order_id

    order_id = asyncio.run(scenario())
    xids = transactions(orders, order_id)
    assert xids["fill"] == xids["status"]  # the order frames: one commit
    [fill_xid] = xids["fill"]
    assert all(xid > fill_xid for xid in xids["ledger"])  # the ledger's: after it, never with it
