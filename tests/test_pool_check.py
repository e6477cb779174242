"""The worker pool's check pings only a connection that sat idle: one just given back is handed out
without a round trip, one idle longer is pinged (and a broken one refused)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from worker.db.pool_check import CheckWhenIdle


def run(coro):
    return asyncio.run(coro)


def test_a_connection_just_given_back_is_not_pinged(db_url):
    async def scenario() -> None:
        check = CheckWhenIdle(idle_s=60)
        conn = await psycopg.AsyncConnection.connect(db_url, autocommit=True)
        await check.reset(conn)
        await conn.close()
        await check.check(conn)  # a ping would raise on the closed connection
    run(scenario())


def test_an_idle_connection_is_pinged_and_a_broken_one_refused(db_url):
    async def scenario() -> None:
        check = CheckWhenIdle(idle_s=0)
        conn = await psycopg.AsyncConnection.connect(db_url, autocommit=True)
        await check.reset(conn)
        await check.check(conn)  # alive: the ping succeeds
        await conn.close()
        with pytest.raises(psycopg.OperationalError):
            await check.check(conn)
    run(scenario())


def test_a_connection_never_given_back_is_pinged(db_url):
    async def scenario() -> None:
        check = CheckWhenIdle(idle_s=60)
        conn = await psycopg.AsyncConnection.connect(db_url, autocommit=True)
        await conn.close()
        with pytest.raises(psycopg.OperationalError):
            await check.check(conn)
    run(scenario())
