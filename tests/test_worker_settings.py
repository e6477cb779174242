"""The lease TTL and VALR's connection budget are rows of lth_pvr.settings, read by the worker at start
(lth_pvr.worker_settings); --lease-ttl, when given, wins over the setting."""

from __future__ import annotations

import asyncio

from tests.support.sql import one, settle
from worker.config import build_settings
from worker.daemon.runner import Runner
from worker.daemon.session import SessionContext


class SettingsFromDatabase:
    """The one Store call the start makes here, answered by the migrated database."""

    def __init__(self, conn) -> None:
        self.conn = conn

    async def worker_settings(self) -> dict:
        return one(self.conn, "SELECT * FROM lth_pvr.worker_settings()")


def started(conn, **flags) -> Runner:
    settings = build_settings(database_url="postgresql://unused@localhost/unused", valr_base_url=None,
                              max_session=0, socket_wait=0, log_format="text",
                              env={"VALR_API_KEY": "k", "VALR_API_SECRET": "s" * 8}, **flags)
    runner = Runner(settings)
    runner.store = SettingsFromDatabase(conn)
    runner.session_context = SessionContext.of(settings, runner.store, None, None, None)
    asyncio.run(runner._read_database_settings())
    return runner


def test_the_worker_takes_its_lease_ttl_and_connection_budget_from_settings(postgresql):
    settle(postgresql, lease_ttl_seconds=45, ws_connects_per_minute=7)
    runner = started(postgresql)
    assert (runner.settings.lease_ttl_s, runner.settings.ws_connects_per_minute,
            runner.session_context.ws_connects_per_minute) == (45, 7, 7)


def test_the_lease_ttl_flag_wins_over_the_setting(postgresql):
    assert started(postgresql, lease_ttl_s=4).settings.lease_ttl_s == 4
    assert started(postgresql).settings.lease_ttl_s == 30
