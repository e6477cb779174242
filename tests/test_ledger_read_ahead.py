"""The ledger's REST reads take the next page of history while SQL records this one (worker/daemon/ledger.py
read_pages); SQL still says whether and from where to read on (record_transaction_page,
record_subaccount_window_page)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import psycopg

from tests.support.inprocess import eventually, worker_io
from worker.daemon.ledger import read_back, read_window
from worker.valr.rest import HISTORY_PAGE

HISTORY = "GET /v1/account/transactionhistory"
ACROSS = "GET /v1/account/transactionhistory/subaccounts"


def history_reads(sim) -> int:
    return sim.counters()["rest"].get(HISTORY, 0)


def deposits(sim, subaccount: str, count: int) -> None:
    sim._post("deposit", {"subaccountId": subaccount, "currency": "ZAR", "amount": "1", "count": count})


def held(orders, account) -> int:
    return orders.sql("SELECT count(*) FROM lth_pvr.account_transactions WHERE exchange_account_id = %s",
                      (account,))[0][0]


def test_the_next_page_is_read_while_this_one_is_recorded(sim, orders, db_url, worker_url):
    """The first page's recording is held (its cursor row locked by the test): the second page is read
    meanwhile. Three pages (full, full, short) cost three reads — none after the short last page."""
    account = orders.account("8101")
    deposits(sim, "8101", 2 * HISTORY_PAGE + 1)
    orders.sql("SELECT lth_pvr.ledger_cursor(%s)", (account,))
    before = history_reads(sim)

    async def scenario() -> tuple[int, int]:
        async with worker_io(worker_url, sim.base_url) as (store, client):
            with psycopg.connect(db_url) as lock:
                lock.execute("SELECT 1 FROM lth_pvr.ledger_cursors WHERE exchange_account_id = %s FOR UPDATE",
                             (account,))
                catch_up = asyncio.create_task(read_back(client, store, account, "8101", "rest"))
                await eventually(lambda: history_reads(sim) - before == 2,
                                 what="the second page read while the first waits to be recorded")
                assert held(orders, account) == 0 and not catch_up.done()
                lock.rollback()
            return await asyncio.wait_for(catch_up, 30)

    pages, recorded = asyncio.run(scenario())
    assert (pages, recorded) == (3, 2 * HISTORY_PAGE + 1)
    assert history_reads(sim) - before == 3
    assert held(orders, account) == 2 * HISTORY_PAGE + 1


def test_a_full_page_that_reaches_the_cursor_costs_one_unused_read_and_nothing_else(sim, orders, worker_url):
    """The second catch-up's second page holds the cursor's transaction: SQL says done, and the page
    read ahead after it is dropped — every transaction held once, the cursor at the newest."""
    account = orders.account("8102")
    deposits(sim, "8102", HISTORY_PAGE)

    async def catch_up() -> tuple[int, int]:
        async with worker_io(worker_url, sim.base_url) as (store, client):
            return await read_back(client, store, account, "8102", "rest")

    assert asyncio.run(catch_up()) == (2, HISTORY_PAGE)  # the full page, then the empty one after it
    deposits(sim, "8102", HISTORY_PAGE)
    before = history_reads(sim)
    assert asyncio.run(catch_up()) == (2, HISTORY_PAGE)
    assert history_reads(sim) - before == 3  # the page after the cursor's, read ahead and dropped
    newest = sim.http.get("/_sim/ledger", params={"subaccountId": "8102"}).raise_for_status().json()
    assert held(orders, account) == 2 * HISTORY_PAGE
    assert orders.sql("SELECT newest_transaction_id FROM lth_pvr.ledger_cursors WHERE exchange_account_id = %s",
                      (account,)) == [(newest["transactions"][-1]["id"],)]


def test_a_windows_pages_are_read_ahead_from_where_sql_reads_on(sim, orders, db_url, worker_url):
    """The across-subaccount window pages by skip: the page read ahead while the first is recorded (held
    here by a lock on the account's row, which the rows' foreign key waits for) is the one SQL asks for
    next (skip + the page), so 401 transactions cost three reads, none read twice."""
    account = orders.account("8103")
    start = datetime.now(timezone.utc) - timedelta(seconds=5)
    deposits(sim, "8103", 2 * HISTORY_PAGE + 1)
    reads = lambda: sim.counters()["rest"].get(ACROSS, 0)  # noqa: E731
    before = reads()

    async def window() -> int:
        async with worker_io(worker_url, sim.base_url) as (store, client):
            with psycopg.connect(db_url) as lock:
                lock.execute("SELECT 1 FROM lth_pvr.exchange_accounts WHERE exchange_account_id = %s FOR UPDATE",
                             (account,))
                read = asyncio.create_task(read_window(client, store, [account], start, datetime.now(timezone.utc),
                                                       "rest"))
                await eventually(lambda: reads() - before == 2, what="the second page read while the first waits")
                lock.rollback()
            return await asyncio.wait_for(read, 30)

    assert asyncio.run(window()) == 2 * HISTORY_PAGE + 1
    assert reads() - before == 3
    assert held(orders, account) == 2 * HISTORY_PAGE + 1
