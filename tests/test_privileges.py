"""Least privilege: the worker writes only through functions, readers only read views."""

from __future__ import annotations

import psycopg
import pytest

# Functions that change state; none may be callable by valr_reader.
WRITING_FUNCTIONS = [
    "claim_pending_orders", "record_placement", "record_order_update", "record_fill", "record_batch",
    "record_poll", "safety_net_tick", "request_poll", "request_cancel", "session_open",
    "requeue_unsent_placements", "mark_market_lookups_due",
]
# Operator-only functions the worker has no business calling.
OPERATOR_ONLY = ["safety_net_tick", "request_poll", "request_cancel", "prune_event_log"]


def tables(conn) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'lth_pvr' ORDER BY 1"
    ).fetchall()]


def function_oids(conn, name: str) -> list[int]:
    rows = conn.execute(
        "SELECT oid FROM pg_proc WHERE pronamespace = 'lth_pvr'::regnamespace AND proname = %s", (name,)
    ).fetchall()
    assert rows, f"function lth_pvr.{name} does not exist"
    return [r[0] for r in rows]


@pytest.mark.parametrize("statement", [
    "INSERT INTO lth_pvr.{t} DEFAULT VALUES",
    "UPDATE lth_pvr.{t} SET {c} = {c}",
    "DELETE FROM lth_pvr.{t}",
    "SELECT * FROM lth_pvr.{t}",
])
def test_worker_role_cannot_touch_any_table(postgresql, statement):
    for table in tables(postgresql):
        column = postgresql.execute(
            "SELECT quote_ident(column_name) FROM information_schema.columns "
            "WHERE table_schema = 'lth_pvr' AND table_name = %s AND is_identity = 'NO' LIMIT 1", (table.strip('"'),)
        ).fetchone()[0]
        postgresql.execute("SET ROLE valr_worker")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            postgresql.execute(statement.format(t=table, c=column))
        postgresql.rollback()


def test_reader_role_cannot_read_tables_directly(postgresql):
    for table in tables(postgresql):
        postgresql.execute("SET ROLE valr_reader")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            postgresql.execute(f"SELECT 1 FROM lth_pvr.{table} LIMIT 1")
        postgresql.rollback()


def test_worker_role_cannot_schedule_cron_jobs(embedded_pg):
    with embedded_pg.connect() as conn:
        conn.execute("SET ROLE valr_worker")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT cron.schedule('evil', '* * * * *', 'SELECT 1')")


def test_reader_cannot_execute_any_writing_function(postgresql):
    for name in WRITING_FUNCTIONS:
        for oid in function_oids(postgresql, name):
            assert not postgresql.execute(
                "SELECT has_function_privilege('valr_reader', %s::oid, 'EXECUTE')", (oid,)
            ).fetchone()[0], f"valr_reader may execute lth_pvr.{name}"


def test_public_can_execute_nothing_in_the_schema(postgresql):
    rows = postgresql.execute(
        """SELECT p.oid::regprocedure::text FROM pg_proc p
            WHERE p.pronamespace = 'lth_pvr'::regnamespace
              AND has_function_privilege('public', p.oid, 'EXECUTE')"""
    ).fetchall()
    assert rows == []


def test_worker_cannot_call_operator_functions(postgresql):
    for name in OPERATOR_ONLY:
        for oid in function_oids(postgresql, name):
            assert not postgresql.execute(
                "SELECT has_function_privilege('valr_worker', %s::oid, 'EXECUTE')", (oid,)
            ).fetchone()[0], f"valr_worker may execute lth_pvr.{name}"


def test_writing_functions_are_security_definer_with_fixed_search_path(postgresql):
    rows = postgresql.execute(
        """SELECT p.proname, p.prosecdef, p.proconfig FROM pg_proc p
            WHERE p.pronamespace = 'lth_pvr'::regnamespace AND p.proname = ANY(%s)""",
        (WRITING_FUNCTIONS,),
    ).fetchall()
    assert {r[0] for r in rows} == set(WRITING_FUNCTIONS)
    for name, secdef, config in rows:
        assert secdef, f"{name} is not SECURITY DEFINER"
        assert any(c.startswith("search_path=") for c in (config or [])), f"{name} has no fixed search_path"
