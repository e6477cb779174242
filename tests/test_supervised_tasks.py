"""Issue 21 item 15: every long-lived task of the worker is supervised. The fallback timer of an
in-process worker (real database as the worker's login, the simulator over real sockets) meets an
error that is no database error: it is logged once with its traceback, counted in SQL, alerted
(`worker_task_failed`), and the timer restarted — an age fallback still fires afterwards."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.harness import API_KEY, API_SECRET, wait_for
from worker.config import build_settings
from worker.daemon.fallback import FallbackTimer
from worker.daemon.runner import Runner

pytestmark = pytest.mark.slow


def test_a_fallback_timer_that_raises_is_logged_counted_alerted_and_restarted(sim, orders, worker_url,
                                                                              monkeypatch, caplog):
    real_sleep = FallbackTimer._sleep
    raised = []

    async def sleep_once_broken(self, seconds: float) -> None:
        if not raised:
            raised.append(True)
            raise RuntimeError("a bug in the fallback timer")
        await real_sleep(self, seconds)

    monkeypatch.setattr(FallbackTimer, "_sleep", sleep_once_broken)
    account = orders.account("")
    sim.market("BTCZAR", bid="999000", ask="1000000")
    settings = build_settings(database_url=worker_url, valr_base_url=sim.base_url, max_session=0, socket_wait=5,
                              log_format="text", worker_id="supervised", lease_ttl_s=4, catch_up_s=1,
                              env={"VALR_API_KEY": API_KEY, "VALR_API_SECRET": API_SECRET})

    async def scenario() -> None:
        runner = Runner(settings)
        running = asyncio.create_task(runner.run())
        try:
            await asyncio.to_thread(wait_for, lambda: raised, 20, what="the fallback timer to raise")
            order_id, _ = await asyncio.to_thread(orders.insert, account, "0.001", "950000",
                                                  fallback_after="2 seconds")
            await asyncio.to_thread(wait_for, lambda: orders.get(order_id)["fallback_requested_at"], 30,
                                    what="the age fallback fired by the restarted timer")
        finally:
            runner.request_stop()
            assert await asyncio.wait_for(running, 30) == 0

    with caplog.at_level(logging.INFO, logger="worker"):
        asyncio.run(scenario())
    failures = [r for r in caplog.records if r.getMessage().startswith("fallbacks failed unexpectedly")]
    assert len(failures) == 1 and failures[0].exc_info is not None  # once, with its traceback
    ((count, failure),) = orders.sql("SELECT task_failures, task_failure FROM lth_pvr.workers WHERE worker_id = 'supervised'")
    assert count == 1 and failure == "fallbacks: RuntimeError: a bug in the fallback timer"
    orders.sql("SELECT lth_pvr.worker_heartbeat('supervised', 'h', 1)")  # alive again: the alert is about live workers
    alerts = dict(orders.sql("SELECT name, detail FROM lth_pvr.v_alerts"))
    assert "a bug in the fallback timer" in alerts["worker_task_failed"]


def test_a_supervised_task_that_returns_while_the_worker_runs_is_a_failure_and_is_restarted():
    from worker.daemon.tasks import Supervisor

    reported: list[tuple[str, str]] = []
    runs: list[int] = []

    async def scenario() -> None:
        stopping = asyncio.Event()

        async def report(name: str, error: str) -> None:
            reported.append((name, error))

        async def ends_early() -> None:
            runs.append(1)
            if len(runs) == 2:
                stopping.set()  # the worker stops during the second run: no failure, no restart

        supervisor = Supervisor(stopping, report)
        await asyncio.wait_for(supervisor.start("listener", ends_early), 10)

    asyncio.run(scenario())
    assert len(runs) == 2
    assert reported == [("listener", "RuntimeError: the listener task ended while the worker runs")]


def test_a_sync_claimed_while_the_accounts_previous_sync_still_reads_runs_right_after_it():
    """SQL hands an account out again once the previous sync's history is read, while that sync may still
    be reading its re-scan: the new one waits for it (never beside it), then runs — even if it failed."""
    from worker.daemon.runner import after

    async def scenario() -> list[str]:
        steps: list[str] = []
        release = asyncio.Event()

        async def previous_sync() -> None:
            steps.append("previous reads its re-scan")
            await release.wait()
            steps.append("previous done")
            raise RuntimeError("VALR answered 500")

        async def next_sync() -> None:
            steps.append("next sync")

        first = asyncio.ensure_future(previous_sync())
        second = asyncio.ensure_future(after(first, next_sync()))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert steps == ["previous reads its re-scan"]  # the claim waits its turn
        release.set()
        await second
        await asyncio.gather(first, return_exceptions=True)
        await after(None, next_sync())  # nothing before it: at once
        return steps

    assert asyncio.run(scenario()) == ["previous reads its re-scan", "previous done", "next sync", "next sync"]
