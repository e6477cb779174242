"""The worker's background tasks. Short ones (placements, lookups, cancels, a session's follow-ups):
each guarded, so one failure is logged and does not stop the worker, and awaited at shutdown.
Long-lived ones: supervised (Supervisor), so an unexpected error never ends one for good."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from uuid import UUID

from worker.daemon.backoff import backoff, pause
from worker.logs import event

log = logging.getLogger("worker.runner")

Key = tuple[str, UUID]


class Tasks:
    def __init__(self) -> None:
        self.running: set[asyncio.Task] = set()
        self.busy: set[Key] = set()  # (kind, id) being handled, so the same work is not doubled up

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str, key: Key | None = None) -> asyncio.Task:
        task = asyncio.create_task(self._guarded(coro, name, key), name=name)
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return task

    def busy_ids(self, kind: str) -> set[UUID]:
        return {ident for k, ident in self.busy if k == kind}

    async def _guarded(self, coro: Coroutine[Any, Any, Any], name: str, key: Key | None) -> None:
        if key:
            self.busy.add(key)
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one failed task must not stop the worker; the DB still holds the truth
            event(log, f"{name} failed", logging.WARNING, error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            if key:
                self.busy.discard(key)


RESTART_BASE_S, RESTART_CAP_S = 0.5, 30.0  # a task failing again at once backs off, up to this
STEADY_S = 60.0  # a task that ran this long before failing restarts at the base delay again
REPORT_TIMEOUT_S = 5.0  # recording a failure must not hold the restart while the database is away


class Supervisor:
    """Every long-lived task of the worker (lease watcher, listener, live prices, fallback timer) runs
    under `start`: an unexpected error — or a return while the worker runs — is logged once with its
    traceback, counted, reported (`report`: SQL's record_task_failure, so an alert tells a person) and
    the task restarted with backoff. The tick, which loops itself, reports through `failed`."""

    def __init__(self, stopping: asyncio.Event, report: Callable[[str, str], Awaitable[None]] | None = None) -> None:
        self.stopping = stopping
        self.report = report
        self.failures: dict[str, int] = {}

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task:
        return asyncio.create_task(self._supervised(name, run), name=name)

    async def _supervised(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        attempt = 0
        while not self.stopping.is_set():
            began = time.monotonic()
            try:
                await run()
                if self.stopping.is_set():
                    return
                raise RuntimeError(f"the {name} task ended while the worker runs")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self.failed(name, exc)
            attempt = 1 if time.monotonic() - began >= STEADY_S else attempt + 1
            if await pause(backoff(attempt, RESTART_BASE_S, RESTART_CAP_S), self.stopping):
                return

    async def failed(self, name: str, exc: BaseException) -> None:
        self.failures[name] = self.failures.get(name, 0) + 1
        log.error(f"{name} failed unexpectedly; restarting it", exc_info=exc,
                  extra={"fields": {"task": name, "failures": self.failures[name]}})
        if self.report is not None:
            try:
                await asyncio.wait_for(self.report(name, f"{type(exc).__name__}: {exc}"[:400]), REPORT_TIMEOUT_S)
            except Exception as report_exc:  # the database may be what failed: the log line stands
                event(log, "could not record the task failure", logging.WARNING, task=name,
                      error=f"{type(report_exc).__name__}: {report_exc}"[:200])

