"""Shared fixtures: one embedded PostgreSQL (pg_cron preloaded) for the whole run, and a fresh
database per test cloned from a migrated template (pytest-postgresql's noproc + client factories).

Fixtures:
  embedded_pg  the cluster (worker.db.embedded.EmbeddedPostgres); its app database is the pg_cron
               database, so cron tests schedule into per-test databases with schedule_in_database.
  postgresql   a psycopg connection (superuser) to a fresh, migrated database (no cron jobs).
  db_url       the URL of that same database, for code under test that connects by itself.
"""

from __future__ import annotations

import pytest
from psycopg.conninfo import make_conninfo
from pytest_postgresql import factories

from worker.db.embedded import EmbeddedPostgres
from worker.db.migrate import migrate


@pytest.fixture(scope="session")
def embedded_pg():
    # Not durable: tests do not need fsync, and it makes cloning a database per test cheap.
    pg = EmbeddedPostgres(durable=False)
    pg.start()
    # pg_cron's extension lives in the cron database; create it once for every test.
    with pg.connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
    yield pg
    pg.stop()


def load_migrated_schema(host, port, user, dbname, password=None, **_):
    """Template loader: the template is migrated without cron jobs (clones cannot share jobs)."""
    migrate(make_conninfo(host=host, port=port, user=user, dbname=dbname, password=password), cron=False)


postgresql_template = factories.postgresql_noproc(
    depends_on="embedded_pg", dbname="valr_test", load=[load_migrated_schema]
)
postgresql = factories.postgresql("postgresql_template")


@pytest.fixture
def db_url(postgresql) -> str:
    info = postgresql.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"
