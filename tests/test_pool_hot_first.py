"""The worker's pool hands out the connection given back last: calls that come one at a time stay on one
warm backend instead of visiting every connection in turn (docs/performance.md, figure 1)."""

from __future__ import annotations

import asyncio

from worker.db.pool_check import HotFirstPool


async def backends(db_url: str, *, overlapping: int = 1, calls: int = 8) -> list[int]:
    pool = HotFirstPool(db_url, min_size=3, max_size=3, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True)
    try:
        pids: list[int] = []

        async def call() -> None:
            async with pool.connection() as conn:
                pids.append(conn.info.backend_pid)
                await conn.execute("SELECT pg_sleep(0.05)" if overlapping > 1 else "SELECT 1")

        for _ in range(calls):
            await asyncio.gather(*(call() for _ in range(overlapping)))
        return pids
    finally:
        await pool.close()


def test_calls_one_at_a_time_stay_on_one_backend(db_url):
    assert len(set(asyncio.run(backends(db_url)))) == 1


def test_overlapping_calls_still_get_connections_of_their_own(db_url):
    pids = asyncio.run(backends(db_url, overlapping=3, calls=1))
    assert len(set(pids)) == 3
