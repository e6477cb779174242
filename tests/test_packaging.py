"""`pip install` gives a working system: the wheel carries db/migrations and db/functions, installs
without the lab extra, and migrates a real database from a directory that knows nothing of the
source tree. An install that lost its SQL refuses to migrate instead of applying nothing."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest

from tests.harness import empty_database
from tests.installed import REPO, built_wheel, clean_env, fresh_venv
from worker.commands import VERBS
from worker.db.migrate import MigrationError, function_files, migrate, migration_files

def test_the_wheel_carries_every_sql_file_of_db():
    sql_in_repo = {p.relative_to(REPO / "db").as_posix() for p in (REPO / "db").rglob("*.sql")}
    with zipfile.ZipFile(built_wheel()) as wheel:
        shipped = {n.removeprefix("worker/sql/") for n in wheel.namelist() if n.startswith("worker/sql/")}
    assert sql_in_repo and shipped == sql_in_repo


@pytest.fixture
def fresh_database(embedded_pg):
    with empty_database(embedded_pg, "wheel_install") as url:
        yield url


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_migrates_a_database_and_needs_no_lab_packages(tmp_path, fresh_database):
    bin_dir = fresh_venv(tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing can be read beside the sources
    elsewhere.mkdir()

    def run(*argv: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, cwd=elsewhere, env=clean_env(**env), timeout=300)

    install = run(str(bin_dir / "pip"), "install", "--quiet", str(built_wheel()))
    assert install.returncode == 0, install.stderr

    where = run(str(bin_dir / "python"), "-c", "import worker, worker.db.migrate as m; print(worker.__file__); print(m.db_dir())")
    package_file, sql_dir = where.stdout.split()
    assert Path(package_file).is_relative_to(tmp_path / "venv")
    assert Path(sql_dir) == Path(package_file).parent / "sql"

    migrated = run(str(bin_dir / "valr-monitor"), "migrate", "--database-url", fresh_database)
    assert migrated.returncode == 0, migrated.stderr
    n_migrations, n_functions = len(migration_files(REPO / "db")), len(function_files(REPO / "db"))
    assert f"done: {n_migrations} migration(s) applied" in migrated.stdout
    assert f"{n_functions} function/trigger/view files applied" in migrated.stdout
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT count(*) FROM lth_pvr.schema_migrations").fetchone()[0] == n_migrations
        in_database = {r[0] for r in conn.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = 'lth_pvr'::regnamespace")}
        views = {r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname = 'lth_pvr'")}
    defined = {m.group(1) for p in function_files(REPO / "db")
               for m in re.finditer(r"CREATE OR REPLACE FUNCTION lth_pvr\.(\w+)", p.read_text())}
    assert defined and defined <= in_database
    assert {p.stem for p in (REPO / "db" / "functions" / "views").glob("*.sql")} <= views

    # The lab is an extra: not installed, and its verbs say in one line how to get it (exit 2). aiohttp,
    # the simulator's server, comes with ccxt (production: Binance, Kraken and Coinbase), so only pglast
    # is missing; ccxt itself is installed and imports.
    assert run(str(bin_dir / "python"), "-c", "import ccxt.pro").returncode == 0
    assert run(str(bin_dir / "python"), "-c", "import pglast").returncode != 0
    for verb in [v.name for v in VERBS if v.extra == "lab"]:
        refused = run(str(bin_dir / "valr-monitor"), verb, "--quick" if verb == "bench" else "--help")
        assert refused.returncode == 2, (verb, refused.stdout, refused.stderr)
        assert refused.stderr.strip() == (
            f"valr-monitor {verb} needs the lab extra (pglast not installed): "
            "pip install 'valr-order-monitor[lab]'")
        assert refused.stdout == ""


def test_migrate_refuses_when_it_finds_no_sql(tmp_path, db_url):
    empty = tmp_path / "db"
    (empty / "migrations").mkdir(parents=True)
    (empty / "functions" / "10_placement").mkdir(parents=True)
    with pytest.raises(MigrationError, match=r"no migrations .*; no function files .*missing its SQL"):
        migrate(db_url, cron=False, root=empty)
    (empty / "migrations" / "20260101_x.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="no function files") as err:
        migrate(db_url, cron=False, root=empty)
    assert "no migrations" not in str(err.value)


def test_cli_migrate_without_sql_exits_non_zero_with_one_clear_line(tmp_path, db_url):
    proc = subprocess.run(
        [sys.executable, "-m", "worker", "migrate", "--no-cron", "--database-url", db_url],
        capture_output=True, text=True, env=clean_env(VALR_MONITOR_DB_DIR=str(tmp_path)), timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: no migrations (*.sql) in {tmp_path / 'migrations'}")
    assert len(proc.stderr.strip().splitlines()) == 1
