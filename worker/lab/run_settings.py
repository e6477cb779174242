"""Settings changed for one lab run (demo, chaos) and restored when it ends: a --database-url the run
was pointed at is left with the settings it had."""

from __future__ import annotations

import contextlib

import psycopg

SET = "UPDATE lth_pvr.settings SET value = %s WHERE name = %s"


def settings_for_the_run(stack: contextlib.ExitStack, database_url: str, values: dict[str, float]) -> None:
    """Each of `values` set now, its value before restored when `stack` closes."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name, value in values.items():
            [(was,)] = conn.execute("SELECT value FROM lth_pvr.settings WHERE name = %s", (name,)).fetchall()
            conn.execute(SET, (value, name))
            stack.callback(_restore, database_url, name, was)


def _restore(database_url: str, name: str, value: float) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SET, (value, name))
