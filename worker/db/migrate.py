"""`valr-monitor migrate`: migrations once each, functions every time, pg_cron jobs upserted.

The SQL is read from db_dir() (the package's own copy in an installed wheel); migrate refuses to start
when it finds no migrations or no function files there, rather than "succeed" applying nothing.
1. db/migrations/*.sql in name order, each once, each in its own transaction, recorded with a
   sha256 checksum; an applied migration whose file changed is refused.
2. db/functions/: functions (one folder per stage, */*.sql), then triggers/, then views/ — all CREATE OR REPLACE, so
   re-applying is idempotent. A signature change is a migration that drops the old function.
3. pg_cron jobs, created by name from the database pg_cron lives in (cron.schedule_in_database),
   so enabling pg_cron later and migrating again creates them. A job that exists keeps the schedule
   and the active flag an operator gave it (said in the report); only its command follows ours.

Before anything changes, `preflight` checks what the connecting role needs (a superuser, or the
schema's owner with CREATEROLE; for the cron jobs, the right to schedule them in pg_cron's database)
and refuses with one line saying what is missing (MigrationRefused: exit status 2).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from worker.db.preflight import connect_kwargs, connect_problem

# Serialises concurrent migrations (two workers starting at once); any constant would do.
MIGRATE_LOCK_KEY = 0x6C74685F707672  # "lth_pvr"

# (key, schedule, command). The safety net is the only job whose name matches %poll_orders%; its
# schedule (None here) is every safety_net_tick_minutes, a setting (safety_net_schedule).
CRON_JOBS = [
    ("poll_orders", None, "SELECT lth_pvr.safety_net_tick()"),
    ("prune_event_log", "17 3 * * *", "SELECT lth_pvr.prune_event_log()"),
    ("ledger_sync", "*/5 * * * *", "SELECT lth_pvr.ledger_sync_tick()"),
    # Hourly; the tick asks for yesterday's audit once the hour reaches the audit_hour_utc setting.
    ("ledger_audit", "23 * * * *", "SELECT lth_pvr.ledger_audit_tick()"),
]

PG_CRON_HOWTO = (
    "pg_cron is not loaded on this server. Add to postgresql.conf and restart PostgreSQL:\n"
    "    shared_preload_libraries = 'pg_cron'\n"
    "    cron.database_name = '{dbname}'\n"
    "    cron.use_background_workers = on\n"
    "(Debian: apt-get install postgresql-15-cron), then run migrate again. "
    "Or pass --no-cron to migrate without the safety-net job."
)


class MigrationError(RuntimeError):
    """Migration refused; the message names the file or the setting."""


class MigrationRefused(MigrationError):
    """Refused before anything changed: the database cannot be reached, or the role lacks what
    migrate needs (the message says what). A configuration problem: exit status 2."""


ROLES = ("valr_worker", "valr_reader", "valr_operator")

ROLE_CHECK = """
SELECT current_user AS role, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
       n.oid IS NOT NULL AS schema_exists,
       n.oid IS NULL OR pg_has_role(n.nspowner, 'USAGE') AS owns_schema,
       has_database_privilege(current_database(), 'CREATE') AS may_create_schema,
       (SELECT string_agg(DISTINCT pg_get_userbyid(o.owner), ', ')
          FROM (SELECT c.relowner AS owner FROM pg_class c WHERE c.relnamespace = n.oid
                UNION SELECT p.proowner FROM pg_proc p WHERE p.pronamespace = n.oid) o
         WHERE NOT pg_has_role(o.owner, 'USAGE')) AS other_owners
  FROM pg_roles r
  LEFT JOIN pg_namespace n ON n.nspname = 'lth_pvr'
 WHERE r.rolname = current_user
"""


def db_dir() -> Path:
    """Where db/migrations and db/functions are: VALR_MONITOR_DB_DIR when set; in an installed wheel
    the package data folder worker/sql/ (setup.py ships db/ there); else, in an editable install or
    a source checkout, the repository's db/ beside the worker package."""
    override = os.environ.get("VALR_MONITOR_DB_DIR")
    if override:
        return Path(override)
    package = resources.files("worker")
    packaged = package / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(str(package)).parent / "db"


def cron_job_name(key: str, dbname: str) -> str:
    # The target database is part of the name: pg_cron names are unique per user, and one server
    # may hold several databases of ours (per-test databases, staging beside production).
    return f"lth_pvr_{key}@{dbname}"


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def migration_files(root: Path) -> list[Path]:
    return sorted((root / "migrations").glob("*.sql"))


def function_files(root: Path) -> list[Path]:
    """Functions first (one folder per stage of an order's life, in story order), then triggers
    (they need functions), then views (they may call both)."""
    fdir = root / "functions"
    last = [fdir / "triggers", fdir / "views"]
    stages = sorted(p for p in fdir.rglob("*.sql") if not any(d in p.parents for d in last))
    return stages + [p for d in last for p in sorted(d.glob("*.sql"))]


@dataclass
class MigrateReport:
    applied: list[str] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    functions_applied: int = 0
    cron_jobs: dict[str, str] = field(default_factory=dict)  # job name -> created|updated|unchanged
    cron_database: str | None = None


def migrate(url: str, *, cron: bool = True, root: Path | None = None,
            progress: Callable[[str], None] = lambda _: None) -> MigrateReport:
    root = root or db_dir()
    _require_sql_files(root)
    report = MigrateReport()
    with _connect(url) as conn:
        preflight(conn)
        cron_db = _cron_database_ready(conn, url) if cron else None
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK_KEY,))
        try:
            _apply_migrations(conn, root, report, progress)
            _apply_functions(conn, root, report, progress)
            if cron_db is not None:
                _ensure_cron_jobs(conn, url, cron_db, report, progress)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK_KEY,))
    return report


def _require_sql_files(root: Path) -> None:
    """An install without its SQL would "succeed" applying nothing: refuse before connecting."""
    missing = [f"no migrations (*.sql) in {root / 'migrations'}"] if not migration_files(root) else []
    if not function_files(root):
        missing.append(f"no function files (*/*.sql) in {root / 'functions'}")
    if missing:
        raise MigrationError(
            "; ".join(missing) + ": this installation is missing its SQL (reinstall the package, "
            "or point VALR_MONITOR_DB_DIR at a db/ folder holding migrations/ and functions/)"
        )


def _connect(url: str, **params) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True, **connect_kwargs(url), **params)
    except psycopg.OperationalError as exc:
        raise MigrationRefused(connect_problem(exc, url)) from None


def preflight(conn: psycopg.Connection) -> None:
    """A superuser may migrate; anyone else must own the schema (or may create it), own what is in
    it, and hold CREATEROLE (the migrations create and grant the valr_* roles). Refused otherwise,
    before anything changes."""
    row = conn.execute(ROLE_CHECK).fetchone()
    role, superuser, createrole, schema_exists, owns_schema, may_create, other_owners = row
    if superuser:
        return
    missing = []
    if schema_exists and not owns_schema:
        missing.append("ownership of schema lth_pvr")
    if not schema_exists and not may_create:
        missing.append(f"CREATE on database {conn.info.dbname}")
    if other_owners:
        missing.append(f"membership in {other_owners} (who own objects in lth_pvr)")
    if not createrole:
        missing.append(f"CREATEROLE (the migrations create and grant {', '.join(ROLES)})")
    if missing:
        raise MigrationRefused(
            f"role {role!r} cannot migrate {conn.info.dbname}: it needs {'; '.join(missing)}. "
            "Migrate as a superuser, or as the schema's owner given those; nothing was changed")


def _apply_migrations(conn: psycopg.Connection, root: Path, report: MigrateReport,
                      progress: Callable[[str], None]) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS lth_pvr")
    conn.execute(
        """CREATE TABLE IF NOT EXISTS lth_pvr.schema_migrations (
               name       text PRIMARY KEY,
               checksum   text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    applied = dict(conn.execute("SELECT name, checksum FROM lth_pvr.schema_migrations").fetchall())
    for path in migration_files(root):
        digest = checksum(path)
        if path.name in applied:
            if applied[path.name] != digest:
                raise MigrationError(
                    f"migration {path.name} was applied with checksum {applied[path.name][:12]}… "
                    f"but the file now has {digest[:12]}…: applied migrations must never change; "
                    "write a new migration instead"
                )
            report.already_applied.append(path.name)
            continue
        progress(f"applying migration {path.name}")
        try:
            with conn.transaction():
                conn.execute(path.read_text())
                conn.execute(
                    "INSERT INTO lth_pvr.schema_migrations (name, checksum) VALUES (%s, %s)",
                    (path.name, digest),
                )
        except psycopg.Error as exc:
            raise MigrationError(f"migration {path.name} failed: {exc}") from exc
        report.applied.append(path.name)


def _apply_functions(conn: psycopg.Connection, root: Path, report: MigrateReport,
                     progress: Callable[[str], None]) -> None:
    files = function_files(root)
    progress(f"applying {len(files)} files from db/functions")
    with conn.transaction():
        # Functions may reference each other in any order; bodies are checked when first run.
        conn.execute("SET LOCAL check_function_bodies = off")
        for path in files:
            try:
                conn.execute(path.read_text())
            except psycopg.Error as exc:
                raise MigrationError(f"{path.relative_to(root)} failed: {exc}") from exc
        # Belt and braces: nothing in our schema is callable by PUBLIC.
        conn.execute("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA lth_pvr FROM PUBLIC")
    report.functions_applied = len(files)


def cron_database(conn: psycopg.Connection) -> str | None:
    """The database pg_cron lives in, or None when pg_cron is not preloaded."""
    try:
        preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
        if "pg_cron" not in preload:
            return None
        row = conn.execute("SELECT current_setting('cron.database_name', true)").fetchone()
    except psycopg.errors.InsufficientPrivilege:
        raise MigrationRefused(
            f"role {conn.info.user!r} may not read cron.database_name (to find pg_cron's database): "
            f"GRANT pg_read_all_settings TO {conn.info.user}, or migrate with --no-cron and run `migrate` "
            "once as a superuser for the cron jobs; nothing was changed") from None
    return row[0] if row and row[0] else None


CRON_RIGHTS = """
SELECT to_regnamespace('cron') IS NOT NULL AS installed,
       to_regnamespace('cron') IS NOT NULL
       AND has_function_privilege('cron.schedule_in_database(text,text,text,text,text,boolean)', 'EXECUTE')
       AND has_function_privilege('cron.alter_job(bigint,text,text,text,text,boolean)', 'EXECUTE') AS may_schedule,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser
"""


def _cron_database_ready(conn: psycopg.Connection, url: str) -> str:
    """pg_cron's database, once it is known that the jobs can be scheduled from there (checked
    before anything changes: the extension, and the right to schedule in another database)."""
    cron_db = cron_database(conn)
    if cron_db is None:
        raise MigrationRefused(PG_CRON_HOWTO.format(dbname=conn.info.dbname))
    with _connect(make_conninfo(url, dbname=cron_db)) as cconn:
        installed, may_schedule, superuser = cconn.execute(CRON_RIGHTS).fetchone()
        if not installed and superuser:
            cconn.execute("CREATE EXTENSION pg_cron")
        elif not installed:
            raise MigrationRefused(
                f"pg_cron is preloaded but its extension is not created in database {cron_db!r}: as a "
                "superuser run there: CREATE EXTENSION pg_cron; nothing was changed")
        elif not may_schedule:
            raise MigrationRefused(
                f"role {conn.info.user!r} may not schedule pg_cron jobs (cron.schedule_in_database and "
                f"cron.alter_job in database {cron_db!r} are the superuser's): migrate with --no-cron and run "
                "`migrate` once as a superuser for the cron jobs; nothing was changed")
    return cron_db


def _ensure_cron_jobs(conn: psycopg.Connection, url: str, cron_db: str, report: MigrateReport,
                      progress: Callable[[str], None]) -> None:
    dbname = conn.info.dbname
    report.cron_database = cron_db
    with _connect(make_conninfo(url, dbname=cron_db)) as cconn:
        for key, schedule, command in CRON_JOBS:
            schedule = schedule or safety_net_schedule(conn)
            name = cron_job_name(key, dbname)
            report.cron_jobs[name], note = _upsert_job(cconn, name, schedule, command, dbname)
            progress(f"cron job {name}: {note}")


def safety_net_schedule(conn: psycopg.Connection) -> str:
    """The poll_orders job's schedule: every safety_net_tick_minutes (lth_pvr.settings), the interval
    the safety_net_late alert expects; a cron step, so 1 to 59 minutes."""
    (minutes,) = conn.execute("SELECT lth_pvr.setting('safety_net_tick_minutes')").fetchone()
    if minutes != int(minutes) or not 1 <= minutes <= 59:
        raise MigrationRefused(f"setting safety_net_tick_minutes is {minutes}: the safety net's cron step must be "
                               "a whole number of minutes from 1 to 59 (UPDATE lth_pvr.settings …)")
    return f"*/{int(minutes)} * * * *"


def _upsert_job(cconn: psycopg.Connection, name: str, schedule: str, command: str,
                dbname: str) -> tuple[str, str]:
    """Create a missing job; keep an existing one's schedule and active flag (an operator may have
    changed them) and bring only its command and database up to date. Returns (created | unchanged |
    updated | kept, a line for people)."""
    row = cconn.execute(
        "SELECT jobid, schedule, command, database, active FROM cron.job WHERE jobname = %s AND username = current_user",
        (name,),
    ).fetchone()
    if row is None:
        cconn.execute("SELECT cron.schedule_in_database(%s, %s, %s, %s)", (name, schedule, command, dbname))
        return "created", f"created ({schedule})"
    jobid, their_schedule, their_command, their_db, active = row
    outcome = "unchanged"
    if (their_command, their_db) != (command, dbname):
        cconn.execute("SELECT cron.alter_job(%s, command => %s, database => %s)", (jobid, command, dbname))
        outcome = "updated"
    if their_schedule != schedule or not active:
        state = "" if active else ", inactive"
        return "kept", (f"{outcome}; kept the schedule set on it ({their_schedule}{state}; ours is {schedule}). "
                        f"To reset: in database {cconn.info.dbname!r} SELECT cron.unschedule({jobid}); "
                        "then migrate again")
    return outcome, f"{outcome} ({schedule})"


def unschedule_jobs(url: str) -> int:
    """Remove this database's cron jobs (tests drop their databases; the jobs would linger)."""
    dbname = conninfo_to_dict(url).get("dbname")
    with psycopg.connect(url, autocommit=True) as conn:
        cron_db = cron_database(conn)
    if cron_db is None:
        return 0
    with psycopg.connect(make_conninfo(url, dbname=cron_db), autocommit=True) as cconn:
        if cconn.execute("SELECT to_regclass('cron.job')").fetchone()[0] is None:
            return 0
        rows = cconn.execute(
            "SELECT cron.unschedule(jobid) FROM cron.job WHERE database = %s AND jobname LIKE 'lth\\_pvr\\_%%'",
            (dbname,),
        ).fetchall()
    return len(rows)
