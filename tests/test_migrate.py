"""`valr-monitor migrate`: each migration once, functions every run, cron jobs upserted by name."""

from __future__ import annotations

import shutil
import subprocess
import sys

import psycopg
import pytest

from tests.harness import empty_database
from worker.lab.embedded import EmbeddedPostgres
from worker.db.migrate import MigrationError, cron_job_name, db_dir, migrate, unschedule_jobs


def fingerprint(conn: psycopg.Connection) -> dict:
    """Everything migrate may create, compared before and after a second run."""
    q = {
        "migrations": "SELECT name, checksum, applied_at FROM lth_pvr.schema_migrations ORDER BY name",
        "functions": """SELECT p.oid::regprocedure::text, md5(p.prosrc), p.prosecdef, p.proconfig::text,
                               p.proacl::text
                          FROM pg_proc p WHERE p.pronamespace = 'lth_pvr'::regnamespace ORDER BY 1""",
        "views": "SELECT viewname, md5(definition) FROM pg_views WHERE schemaname = 'lth_pvr' ORDER BY 1",
        "triggers": """SELECT tgname, tgrelid::regclass::text FROM pg_trigger
                        WHERE NOT tgisinternal ORDER BY 1, 2""",
        "columns": """SELECT table_name, column_name, data_type FROM information_schema.columns
                       WHERE table_schema = 'lth_pvr' ORDER BY 1, 2""",
        "settings": "SELECT name, value FROM lth_pvr.settings ORDER BY 1",
    }
    return {k: conn.execute(v).fetchall() for k, v in q.items()}


def cron_jobs(embedded_pg, dbname: str) -> list[tuple]:
    with embedded_pg.connect(autocommit=True) as conn:
        return conn.execute(
            "SELECT jobid, jobname, schedule, command, active FROM cron.job WHERE database = %s ORDER BY jobname",
            (dbname,),
        ).fetchall()


@pytest.fixture
def empty_db(embedded_pg):
    """A brand-new empty database (not cloned from the migrated template)."""
    with empty_database(embedded_pg, "migrate_empty") as url:
        yield url


def test_migrate_empty_database_twice_changes_nothing_the_second_time(empty_db, embedded_pg):
    first = migrate(empty_db)
    assert first.applied[:3] == [
        "20251226_base_schema.sql",
        "20251227_add_websocket_tracking_to_exchange_orders.sql",
        "20251227_reduce_poll_orders_cron_frequency.sql",
    ]
    assert set(first.cron_jobs.values()) == {"created"}
    with psycopg.connect(empty_db) as conn:
        before = fingerprint(conn)
    jobs_before = cron_jobs(embedded_pg, "migrate_empty")

    second = migrate(empty_db)

    assert second.applied == []
    assert second.already_applied == first.applied
    assert set(second.cron_jobs.values()) == {"unchanged"}
    with psycopg.connect(empty_db) as conn:
        assert fingerprint(conn) == before
    assert cron_jobs(embedded_pg, "migrate_empty") == jobs_before


def test_changed_applied_migration_is_refused_with_its_name(db_url, tmp_path):
    root = tmp_path / "db"
    shutil.copytree(db_dir(), root)
    edited = root / "migrations" / "20251226_base_schema.sql"
    edited.write_text(edited.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(MigrationError, match="20251226_base_schema.sql.*must never change"):
        migrate(db_url, cron=False, root=root)


def test_no_cron_then_cron_creates_the_safety_net_job(db_url, postgresql, embedded_pg):
    dbname = postgresql.info.dbname
    report = migrate(db_url, cron=False)
    assert report.cron_jobs == {}
    assert cron_jobs(embedded_pg, dbname) == []
    try:
        report = migrate(db_url)
        assert report.cron_database == embedded_pg.dbname  # pg_cron lives in another database
        jobs = {name: (schedule, command) for _, name, schedule, command, _ in cron_jobs(embedded_pg, dbname)}
        assert jobs[cron_job_name("poll_orders", dbname)] == ("*/10 * * * *", "SELECT lth_pvr.safety_net_tick()")
        poll_jobs = [n for n in jobs if "poll_orders" in n]
        assert poll_jobs == [cron_job_name("poll_orders", dbname)]
    finally:
        unschedule_jobs(db_url)


def test_migrate_without_pg_cron_says_how_to_enable_it():
    with EmbeddedPostgres(durable=False, extra_settings={"shared_preload_libraries": "''"}) as pg:
        with pytest.raises(MigrationError) as err:
            migrate(pg.url())
        message = str(err.value)
        assert "shared_preload_libraries = 'pg_cron'" in message
        assert f"cron.database_name = '{pg.dbname}'" in message
        assert "--no-cron" in message
        # --no-cron still migrates everything else
        report = migrate(pg.url(), cron=False)
        assert report.applied == []  # the failed run had already applied the migrations
        with pg.connect() as conn:
            assert conn.execute("SELECT count(*) FROM lth_pvr.schema_migrations").fetchone()[0] >= 4


def test_cli_migrate_reports_and_redacts(db_url):
    url_with_password = db_url.replace("postgres@", "postgres:hunter2-secret@")
    proc = subprocess.run(
        [sys.executable, "-m", "worker", "migrate", "--no-cron", "--database-url", url_with_password],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "0 migration(s) applied" in proc.stdout
    assert "hunter2-secret" not in proc.stdout + proc.stderr


def test_cli_migrate_without_database_is_a_usage_error(monkeypatch):
    env = {k: v for k, v in __import__("os").environ.items() if k != "DATABASE_URL"}
    proc = subprocess.run([sys.executable, "-m", "worker", "migrate"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "DATABASE_URL" in proc.stderr
