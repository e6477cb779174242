"""`valr-monitor migrate`: each migration once, functions every run, cron jobs upserted by name."""

from __future__ import annotations

import shutil
import subprocess
import sys

import psycopg
import pytest

from tests.harness import empty_database
from tests.support.sql import settle
from worker.lab.embedded import EmbeddedPostgres
from worker.db.migrate import MigrationError, MigrationRefused, cron_job_name, db_dir, migrate, unschedule_jobs


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
        with pg.connect() as conn:  # refused before anything changed
            assert conn.execute("SELECT to_regnamespace('lth_pvr')").fetchone()[0] is None
        report = migrate(pg.url(), cron=False)
        assert report.applied[0] == "20251226_base_schema.sql"
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


# -- one clear line for every mistake; running it twice changes nothing ------------------------------

def migrate_cli(url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "worker", "migrate", "--database-url", url, *extra],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("problem, url_of, says", [
    ("wrong port", lambda pg: pg.url().replace(f":{pg.port}/", ":1/"), "Connection refused"),
    ("no such database", lambda pg: pg.url("no_such_db"), 'database "no_such_db" does not exist'),
    ("no such role", lambda pg: pg.url().replace(f"{pg.user}@", "nobody@"), 'role "nobody" does not exist'),
])
def test_cli_migrate_cannot_connect_is_one_line_exit_2(embedded_pg, problem, url_of, says):
    proc = migrate_cli(url_of(embedded_pg))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to postgresql://") and says in lines[0]


def test_cli_migrate_wrong_password_is_one_line_exit_2():
    with EmbeddedPostgres(durable=False, password="right-pw") as pg:
        proc = migrate_cli(pg.url().replace("right-pw", "wrong-pw"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f'error: cannot connect to postgresql://{pg.user}:***@{pg.host}:{pg.port}/{pg.dbname}: '
        f'password authentication failed for user "{pg.user}"']


@pytest.fixture
def owner_db(embedded_pg):
    """An empty database owned by a non-superuser login (the README's "schema owner")."""
    name, role = "migrate_owner", "migrate_owner_role"
    with embedded_pg.connect(autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"CREATE DATABASE {name} OWNER {role}")
    yield embedded_pg.url(name).replace(f"{embedded_pg.user}@", f"{role}@"), role
    unschedule_jobs(embedded_pg.url(name))
    with embedded_pg.connect(autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_schema_owner_without_createrole_is_told_before_anything_changes(owner_db, embedded_pg):
    url, role = owner_db
    with pytest.raises(MigrationRefused, match="needs CREATEROLE.*nothing was changed"):
        migrate(url, cron=False)
    proc = migrate_cli(url, "--no-cron")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regnamespace('lth_pvr')").fetchone()[0] is None


def test_schema_owner_with_createrole_migrates_and_is_told_what_cron_needs(owner_db, embedded_pg):
    url, role = owner_db
    with embedded_pg.connect(autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {role} CREATEROLE")
    # The cron jobs need a superuser (pg_cron's scheduling functions are theirs): said before any change.
    proc = migrate_cli(url)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "--no-cron" in proc.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regnamespace('lth_pvr')").fetchone()[0] is None
    # Without the cron jobs the owner migrates everything, twice with no change; a superuser adds the jobs.
    assert migrate(url, cron=False).applied
    assert migrate(url, cron=False).applied == []
    report = migrate(embedded_pg.url("migrate_owner"))
    assert set(report.cron_jobs.values()) == {"created"}


def test_the_safety_net_job_runs_every_safety_net_tick_minutes(empty_db, embedded_pg):
    # One number for the job and for the safety_net_late alert that watches it.
    migrate(empty_db, cron=False)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        settle(conn, safety_net_tick_minutes=5)
    assert migrate(empty_db).cron_jobs[cron_job_name("poll_orders", "migrate_empty")] == "created"
    name = cron_job_name("poll_orders", "migrate_empty")
    assert [j[2] for j in cron_jobs(embedded_pg, "migrate_empty") if j[1] == name] == ["*/5 * * * *"]


def test_second_migrate_keeps_a_schedule_an_operator_changed_and_says_so(empty_db, embedded_pg):
    migrate(empty_db)
    name = cron_job_name("poll_orders", "migrate_empty")
    with embedded_pg.connect(autocommit=True) as conn:
        jobid = conn.execute("SELECT jobid FROM cron.job WHERE jobname = %s", (name,)).fetchone()[0]
        conn.execute("SELECT cron.alter_job(%s, schedule => '*/5 * * * *')", (jobid,))
    said: list[str] = []
    report = migrate(empty_db, progress=said.append)
    assert report.cron_jobs[name] == "kept"
    assert [j[2] for j in cron_jobs(embedded_pg, "migrate_empty") if j[1] == name] == ["*/5 * * * *"]
    note = next(line for line in said if name in line)
    assert "kept the schedule set on it (*/5 * * * *; ours is */10 * * * *)" in note
    assert f"cron.unschedule({jobid})" in note


def test_an_upgrade_drops_the_seeded_pair_rules_and_fallbacks_registered_orders_inherited(empty_db, tmp_path):
    """Issue 21: an install migrated before 20260106 holds the seeded pair rules (stricter than VALR's)
    and open registered orders that inherited their account's fallback; the upgrade removes both and
    keeps what VALR or the row itself gave."""
    before = tmp_path / "db"
    shutil.copytree(db_dir(), before)
    for name in ("20260106_no_seeded_pair_rules.sql", "20260106_registered_orders_no_inherited_fallback.sql"):
        (before / "migrations" / name).unlink()
    migrate(empty_db, cron=False, root=before)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM lth_pvr.pairs").fetchone()[0] == 6  # the old seed
        account = conn.execute("INSERT INTO lth_pvr.exchange_accounts (subaccount_id, fallback_after, "
                               "fallback_price_move) VALUES ('u1', '2 minutes', 0.01) "
                               "RETURNING exchange_account_id").fetchone()[0]

        def registered(ext: str, after: str, move: str, ours: bool = False):
            order_id = conn.execute(
                "INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty, status, "
                "ext_order_id) VALUES (%s, gen_random_uuid(), 'BTCZAR', 'BUY', 1000000, 0.001, 'submitted', %s) "
                "RETURNING exchange_order_id", (account, ext)).fetchone()[0]
            # What the old insert rules stored (they gave a registered order its account's fallback).
            conn.execute("UPDATE lth_pvr.exchange_orders SET fallback_after = %s::interval, fallback_price_move = %s, "
                         "claimed_at = CASE WHEN %s THEN now() END WHERE exchange_order_id = %s",
                         (after, move, ours, order_id))
            return order_id

        inherited = registered("x-1", "2 minutes", "0.01")
        own = registered("x-2", "30 seconds", "0.01")         # its own age, the account's move
        placed_here = registered("x-3", "2 minutes", "0.01", ours=True)
    migrate(empty_db, cron=False)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM lth_pvr.pairs").fetchone()[0] == 0
        fallbacks = dict((r[0], r[1:]) for r in conn.execute(
            "SELECT exchange_order_id, fallback_after::text, fallback_price_move::text FROM lth_pvr.exchange_orders"))
    assert fallbacks == {inherited: (None, None), own: ("00:00:30", None), placed_here: ("00:02:00", "0.01")}
