"""Least privilege beyond tests/test_privileges.py: the worker role reads no other schema and runs no
pg_cron function; the reader role reads the views, writes nothing, and may call only read-only
functions; and a login role that is only valr_worker cannot widen its own rights.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

CRON_FUNCTIONS = [
    "SELECT cron.schedule('evil', '* * * * *', 'SELECT 1')",
    "SELECT cron.schedule_in_database('evil', '* * * * *', 'SELECT 1', 'postgres')",
    "SELECT cron.unschedule('lth_pvr_safety_net')",
    "SELECT cron.alter_job(1, schedule => '* * * * *')",
]


def views(conn) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT quote_ident(viewname) FROM pg_views WHERE schemaname = 'lth_pvr' ORDER BY 1").fetchall()]


def test_worker_reads_no_other_schema(postgresql):
    postgresql.execute("CREATE TABLE public.someone_elses (secret text)")
    postgresql.execute("INSERT INTO public.someone_elses VALUES ('x')")
    postgresql.execute("CREATE SCHEMA other")
    postgresql.execute("CREATE TABLE other.data (v int)")
    postgresql.commit()
    for statement in ("SELECT * FROM public.someone_elses", "SELECT * FROM other.data",
                      "CREATE TABLE public.mine (v int)", "CREATE TABLE lth_pvr.mine (v int)",
                      "CREATE FUNCTION lth_pvr.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'"):
        postgresql.execute("SET ROLE valr_worker")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            postgresql.execute(statement)
        postgresql.rollback()


def test_worker_sees_no_cron_job_and_runs_no_cron_function(embedded_pg):
    with embedded_pg.connect() as conn:
        conn.execute("SELECT cron.schedule('lth_pvr_chaos_probe', '0 0 1 1 *', 'SELECT 1')")
        conn.commit()
        try:
            conn.execute("SET ROLE valr_worker")
            try:
                visible = conn.execute("SELECT count(*) FROM cron.job").fetchone()[0]
                assert visible == 0, "valr_worker can read the cron jobs of other roles"
            except psycopg.errors.InsufficientPrivilege:
                pass
            conn.rollback()
            for statement in CRON_FUNCTIONS:
                conn.execute("SET ROLE valr_worker")
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
                conn.rollback()
            conn.execute("SET ROLE valr_worker")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM cron.job_run_details")
            conn.rollback()
        finally:
            conn.execute("SELECT cron.unschedule('lth_pvr_chaos_probe')")
            conn.commit()


def test_reader_reads_every_view_and_writes_none(postgresql):
    names = views(postgresql)
    assert len(names) >= 5
    for view in names:
        postgresql.execute("SET ROLE valr_reader")
        postgresql.execute(sql.SQL("SELECT * FROM lth_pvr.{} LIMIT 1").format(sql.Identifier(view.strip('"'))))
        postgresql.rollback()
        for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER"):
            assert not postgresql.execute("SELECT has_table_privilege('valr_reader', %s, %s)",
                                          (f"lth_pvr.{view}", privilege)).fetchone()[0], (view, privilege)
        # And the worker, which writes only through functions, does not read the views either.
        assert not postgresql.execute("SELECT has_table_privilege('valr_worker', %s, 'SELECT')",
                                      (f"lth_pvr.{view}",)).fetchone()[0], view


def test_reader_may_call_only_read_only_functions(postgresql):
    rows = postgresql.execute(
        """SELECT p.oid::regprocedure::text, p.provolatile, p.prosecdef FROM pg_proc p
            WHERE p.pronamespace = 'lth_pvr'::regnamespace
              AND has_function_privilege('valr_reader', p.oid, 'EXECUTE')""").fetchall()
    for signature, volatility, _ in rows:
        # STABLE/IMMUTABLE functions cannot write: PostgreSQL refuses INSERT/UPDATE/DELETE in them.
        assert volatility in ("s", "i"), f"valr_reader may execute {signature}, which is VOLATILE"


def test_worker_role_cannot_grant_itself_more(postgresql, worker_url):
    with psycopg.connect(worker_url, autocommit=True) as conn:
        for statement in ("GRANT valr_reader TO CURRENT_USER", "ALTER ROLE CURRENT_USER SUPERUSER",
                          "SET ROLE valr_reader", "SET ROLE postgres", "CREATE ROLE sneaky LOGIN"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        # What it may do: call its functions, which decide what it may change.
        assert conn.execute("SELECT count(*) FROM lth_pvr.acquire_leases('w-probe', 5)").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM lth_pvr.exchange_orders")
