"""The worker's background tasks (placements, lookups, cancels, a session's follow-ups): each guarded,
so one failure is logged and does not stop the worker, and awaited at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any
from uuid import UUID

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
