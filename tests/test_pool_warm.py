"""The worker's connections are opened at start, each warmed, rather than one at a time, cold, in the
first burst of work (a fallback's first round waited for them: docs/performance.md, figure 8)."""

from __future__ import annotations

import asyncio

import psycopg
import psycopg.conninfo

from tests.harness import wait_for
from worker.daemon.runner import POOL_SIZE
from worker.db.pool_check import warm_up


def worker_connections(orders) -> int:
    return orders.sql("""SELECT count(*) FROM pg_stat_activity
                          WHERE datname = current_database() AND application_name = 'valr-monitor-worker'""")[0][0]


def test_the_worker_opens_its_whole_pool_at_start(orders, start_worker):
    start_worker()  # no order anywhere: nothing but the start and the tick asks for a connection
    wait_for(lambda: worker_connections(orders) == POOL_SIZE, timeout=20, what="every connection opened")


def test_warming_a_connection_writes_nothing_and_never_refuses_it(orders, worker_url, db_url):
    account = orders.account("")
    orders.insert(account, price="995000", fallback_price_move="0.01")  # a price trigger that could fire
    counts = "SELECT (SELECT count(*) FROM lth_pvr.market_prices), (SELECT count(*) FROM lth_pvr.order_events)"
    before = orders.sql(counts)

    async def warm(url: str) -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await warm_up(conn)
            assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)  # still usable

    asyncio.run(warm(worker_url))
    assert orders.sql(counts) == before
    # A database without the schema (being created, say): the warm-up fails quietly, the connection stays usable.
    asyncio.run(warm(psycopg.conninfo.make_conninfo(db_url, dbname="postgres")))
