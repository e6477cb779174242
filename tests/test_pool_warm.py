"""The worker's connections are opened at start, each warmed, rather than one at a time, cold, in the
first burst of work (a fallback's first round waited for them: docs/performance.md, figure 8). Warmed
for both legs of a fallback: the price read, and the Cancelled read that replaces the order, which SQL
rehearses on throwaway rows it undoes (rehearse_replacement)."""

from __future__ import annotations

import asyncio
import logging

import psycopg
import psycopg.conninfo

from tests.harness import wait_for
from worker.daemon.runner import POOL_SIZE
from tests.support.sql import listener, received
from worker.db.pool_check import REHEARSALS, WARM_UP, warm_up

TABLES = ("exchange_accounts", "exchange_orders", "order_events", "pairs", "workers", "subaccount_leases",
          "ws_sessions", "market_prices")
CHANNELS = ("lth_pvr_pending", "lth_pvr_submitted", "lth_pvr_cancel", "lth_pvr_recorded", "lth_pvr_poll")
# What a connection must have run to record a fallback's Cancelled warm: past five custom plans and the
# sixth execution of each statement (docs/performance.md, figure 8).
REPLACEMENT_LEG = ("record_batch", "finish_order", "replace_after_fallback", "exchange_orders_insert_rules",
                   "exchange_orders_intent_invariant", "hand_over_replacements", "claim_pending_orders",
                   "begin_placement")


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


def test_a_new_connection_rehearses_the_replacement_leg_and_keeps_nothing_of_it(orders, worker_url, db_url):
    """The worker's own login (valr_worker) warms a connection: the Cancelled read that inserts, claims and
    stamps a replacement runs REHEARSALS times — every rehearsal reaching the hand-over — and leaves no
    row, no event and no notification behind."""
    orders.insert(orders.account(""), price="995000", fallback_after="1 hour")  # a fallback may come
    orders.settle(notify_recorded=1)  # so that a rehearsal's lth_pvr_recorded would be sent if it were kept
    counts = "SELECT " + ", ".join(f"(SELECT count(*) FROM lth_pvr.{t})" for t in TABLES)
    before = orders.sql(counts)
    heard = listener(db_url, *CHANNELS)
    with psycopg.connect(db_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL track_functions = 'all'")  # (a superuser's setting)
        conn.execute("SET LOCAL ROLE valr_worker")
        conn.execute(WARM_UP, (REHEARSALS,))
        calls = dict(conn.execute("""SELECT funcname, calls FROM pg_stat_xact_user_functions
                                      WHERE funcname = ANY (%s)""", (list(REPLACEMENT_LEG),)).fetchall())
    with psycopg.connect(worker_url, autocommit=True) as conn:
        handed_over = conn.execute(f"SELECT * FROM lth_pvr.rehearse_replacement({REHEARSALS})").fetchone()
    assert {name: min(calls.get(name, 0), REHEARSALS) for name in REPLACEMENT_LEG} == dict.fromkeys(
        REPLACEMENT_LEG, REHEARSALS)  # (the insert's triggers run for the throwaway original too)
    assert handed_over == (REHEARSALS, None)  # no failure to say
    assert orders.sql(counts) == before
    assert received(heard) == []
    heard.close()


def test_a_connection_is_rehearsed_only_where_a_fallback_may_come(orders, worker_url):
    """No open order with a fallback still to fire: nothing to warm for, no rehearsal (a worker's ten
    connections would each spend ~0.1 s of server time at its start for nothing)."""
    account = orders.account("")
    orders.insert(account, price="995000")  # no fallback
    fired, _ = orders.insert(account, price="996000", fallback_after="1 hour")
    orders.sql("UPDATE lth_pvr.exchange_orders SET fallback_requested_at = now(), fallback_reason = 'age'"
               " WHERE exchange_order_id = %s",
               (fired,))  # its fallback already fired: nothing more to come from it
    with psycopg.connect(worker_url, autocommit=True) as conn:
        assert conn.execute(f"SELECT * FROM lth_pvr.rehearse_replacement({REHEARSALS})").fetchone() == (0, None)
    orders.insert(account, price="997000", fallback_price_move="0.01")  # a pending order with a price trigger
    with psycopg.connect(worker_url, autocommit=True) as conn:
        assert conn.execute(f"SELECT * FROM lth_pvr.rehearse_replacement({REHEARSALS})").fetchone() == (REHEARSALS, None)


def test_a_failed_rehearsal_is_said_at_warning_once_and_the_connection_still_serves(orders, worker_url, caplog):
    """A row colliding with a rehearsal's throwaway ones (the class of the primary-account collision that
    once failed every rehearsal unseen) fails each round: SQL names the SQLSTATE and message, the worker
    logs it once for the connection, and the connection is handed out all the same. A normal warm-up
    says nothing."""
    orders.insert(orders.account(""), price="995000", fallback_after="1 hour")  # a fallback may come

    async def warm() -> None:
        async with await psycopg.AsyncConnection.connect(worker_url, autocommit=True) as conn:
            await warm_up(conn)  # nothing to say
            pid = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
            orders.account(f"rehearsal{pid}")  # the subaccount id this connection's rehearsals take
            await warm_up(conn)
            assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)  # still usable

    with caplog.at_level(logging.WARNING, logger="worker.db.pool_check"):
        asyncio.run(warm())
    said = [r for r in caplog.records if r.name == "worker.db.pool_check"]
    assert len(said) == 1 and said[0].levelno == logging.WARNING, said
    assert said[0].fields["failure"].startswith(f"{REHEARSALS} of {REHEARSALS} rehearsals failed; the first: "
                                                "SQLSTATE 23505: duplicate key value violates unique constraint")
