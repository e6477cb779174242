"""The one owner of the worker's subaccount sessions.

Three tasks change which sessions the worker holds: the tick (leases lost, sessions SQL wants, done
sessions pruned), the lease watcher (leases it could not renew in time) and `place_now` (a NOTIFY's
claim needs its subaccount's socket). Each goes through this registry, whose every change is made
without an await in between: a session is taken out of the registry *before* its socket is closed,
and only if it is still the one registered for its subaccount. So a stop never removes a session
created meanwhile by another task (its socket would live on, unregistered), and two stoppers of one
session cannot both remove it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from uuid import UUID


class Session(Protocol):
    subaccount_id: str
    stop_reason: str | None

    @property
    def done(self) -> bool: ...

    def start(self) -> None: ...

    async def stop(self, reason: str) -> None: ...


class SessionRegistry:
    def __init__(self, make: Callable[[UUID, str], Session],
                 failed: Callable[[str, BaseException], None] | None = None) -> None:
        self._make = make
        self._failed = failed  # a session whose task ended with an unexpected error (reported, then replaced)
        self._by_account: dict[UUID, Session] = {}
        self.ended = 0  # sessions that have left the registry so far (the heap keeper counts them)

    def __len__(self) -> int:
        return len(self._by_account)

    def get(self, account_id: UUID) -> Session | None:
        return self._by_account.get(account_id)

    def items(self) -> list[tuple[UUID, Session]]:
        """A snapshot: the registry may change while the caller awaits."""
        return list(self._by_account.items())

    def ensure(self, account_id: UUID, subaccount_id: str) -> Session:
        """The subaccount's live session, or a new one started in place of a missing, done or
        stopping one."""
        session = self._by_account.get(account_id)
        if session is None or session.done or session.stop_reason:
            if session is not None:
                self.ended += 1  # replaced: it has ended, or is ending
            session = self._make(account_id, subaccount_id)
            self._by_account[account_id] = session
            session.start()
        return session

    def prune_done(self) -> None:
        for account_id, session in self.items():
            if session.done:
                self._detach(account_id, session)
                task = getattr(session, "task", None)
                if self._failed and task is not None and not task.cancelled() and task.exception() is not None:
                    self._failed(f"session {session.subaccount_id or 'primary'}", task.exception())

    async def stop(self, account_id: UUID, session: Session, reason: str) -> None:
        """Stop exactly this session; it leaves the registry first (if still registered)."""
        self._detach(account_id, session)
        await session.stop(reason)

    def detach_all(self) -> list[Session]:
        sessions = list(self._by_account.values())
        self.ended += len(sessions)
        self._by_account.clear()
        return sessions

    def _detach(self, account_id: UUID, session: Session) -> None:
        if self._by_account.get(account_id) is session:
            del self._by_account[account_id]
            self.ended += 1
