"""Start-up checks that turn a wrong database URL, password, port, role or missing migration into
one line naming the problem (and what to do), before anything is changed or retried.

psycopg's connection errors are several lines ("connection to server at …, port … failed: FATAL: …",
once per address tried, plus hints); `connect_problem` keeps the server's own reason.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import psycopg

from worker.daemon.backoff import backoff
from worker.db import dsn

CONNECT_TIMEOUT_S = 10

# A few of the worker's functions: EXECUTE on them means the role is a valr_worker member.
WORKER_FUNCTIONS = [
    "lth_pvr.worker_heartbeat(text, text, integer, timestamp with time zone)",
    "lth_pvr.record_batch(bigint, jsonb, timestamp with time zone)",
]


class StartupError(RuntimeError):
    """A check at start failed: the message is the one line to show (exit status 2)."""


def scrub(message: str, url: str) -> str:
    """The message with the URL's password (should it appear) replaced."""
    try:
        password = psycopg.conninfo.conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        return message
    return message.replace(password, "***") if password else message


def connect_problem(exc: psycopg.Error, url: str) -> str:
    """`cannot connect to <redacted URL>: <the server's reason>` on one line."""
    text = scrub(str(exc), url)
    fatal = re.search(r"FATAL:\s+(.*)", text)
    if fatal:
        reason = fatal.group(1)
    else:
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        reason = first.rsplit(" failed: ", 1)[-1]
    return f"cannot connect to {dsn.redact(url)}: {reason.strip()}"


def connect_kwargs(url: str) -> dict:
    """A bounded connect timeout unless the URL sets its own."""
    try:
        given = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StartupError(f"DATABASE_URL: cannot be parsed ({dsn.redact(url)})") from exc
    return {} if "connect_timeout" in given else {"connect_timeout": CONNECT_TIMEOUT_S}


WORKER_GRANTS = """
SELECT current_user AS role,
       (SELECT count(*) FROM pg_namespace WHERE nspname = 'lth_pvr') = 1 AS migrated,
       (SELECT bool_and(has_function_privilege(p.oid, 'EXECUTE'))
          FROM unnest(%s::text[]) AS f(sig)
          LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f.sig)) AS may_run
"""


# What a server says while it cannot take connections yet (or for now): waited for, not a setting to fix.
# The server full ("too many clients already", reserved slots) is waited for; a role's own CONNECTION
# LIMIT ("too many connections for role") is a setting of that role: one line and exit 2, like a wrong
# password (tests/test_operator_guards.py).
NOT_READY = ("the database system is", "too many clients", "remaining connection slots")


def not_ready(exc: psycopg.OperationalError) -> bool:
    """A database that refuses connections or is still starting (no server answered: refused, timed out,
    unreachable, a host name not resolved yet; or the server's FATAL says it is starting, stopping, in
    recovery or full) — as opposed to one that answered no to this URL, password or role."""
    fatal = re.search(r"FATAL:\s+(.*)", str(exc))
    return fatal is None or any(phrase in fatal.group(1) for phrase in NOT_READY)


async def connect_when_ready(url: str, waiting: Callable[[str, int], None] | None) -> psycopg.AsyncConnection:
    """A connection, waiting (with backoff, for ever: the caller cancels it on SIGTERM) while the
    database is not ready, each attempt reported to `waiting` (problem, attempt). Without `waiting`,
    or when the server refuses this URL, password or role: StartupError."""
    attempt = 0
    while True:
        try:
            return await psycopg.AsyncConnection.connect(url, autocommit=True, **connect_kwargs(url))
        except psycopg.OperationalError as exc:
            if waiting is None or not not_ready(exc):
                raise StartupError(connect_problem(exc, url)) from None
            attempt += 1
            waiting(connect_problem(exc, url), attempt)
            await asyncio.sleep(backoff(attempt, base=1.0, cap=WAIT_CAP_S))


WAIT_CAP_S = 15.0  # the longest wait between two attempts while the database is not ready


async def check_worker_database(url: str, waiting: Callable[[str, int], None] | None = None) -> None:
    """The worker's database answers, is migrated, and its role may call the worker's functions; with
    `waiting`, a database not ready yet is waited for (connect_when_ready)."""
    conn = await connect_when_ready(url, waiting)
    async with conn:
        try:
            cur = await conn.execute(WORKER_GRANTS, (WORKER_FUNCTIONS,))
            role, migrated, may_run = await cur.fetchone()
        except psycopg.errors.InsufficientPrivilege:  # no USAGE on the schema
            role, migrated, may_run = conn.info.user, True, False
        except psycopg.Error as exc:
            raise StartupError(f"database {dsn.redact(url)}: {scrub(str(exc).strip(), url)}") from None
    if not migrated:
        raise StartupError(f"database {dsn.redact(url)} has no schema lth_pvr: run `valr-monitor migrate` "
                           "as its owner or a superuser first")
    if not may_run:
        raise StartupError(f"role {role!r} may not run the worker's functions in {dsn.redact(url)}: "
                           f"GRANT valr_worker TO {role} (or run `valr-monitor migrate` if the schema is older)")
