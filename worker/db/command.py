"""`valr-monitor migrate`: the schema, its functions and the pg_cron jobs (worker/db/migrate.py)."""

from __future__ import annotations

import sys

import click

from worker.db import dsn
from worker.options import database_url_option, require_database_url


@click.command()
@database_url_option()
@click.option("--no-cron", is_flag=True, help="Skip the pg_cron jobs (e.g. pg_cron not enabled yet).")
def migrate(database_url: str | None, no_cron: bool) -> None:
    """Apply migrations, (re)create functions, views and triggers, and create the pg_cron jobs
    (an existing job keeps the schedule an operator set on it). Running it twice changes nothing.

    Needs a superuser, or the schema's owner with CREATEROLE (and --no-cron unless it may schedule
    pg_cron jobs); anything missing is said before anything changes.

    \b
    Exit status:
      0  migrated
      1  a migration or function file failed (the message names it)
      2  refused before changing anything: no database, cannot connect (URL, password, port, role,
         database), or the role lacks what migrate needs
    """
    import psycopg

    from worker.db.migrate import MigrationError, MigrationRefused
    from worker.db.migrate import migrate as run_migrate
    from worker.db.preflight import scrub

    from worker.interpreter import others_cannot_run

    url = require_database_url(database_url)
    click.echo(f"migrating {dsn.redact(url)}")
    if closed := others_cannot_run():  # the README's deploy runs this package as postgres and as the service user
        click.echo(f"  warning: {closed}")
    try:
        report = run_migrate(url, cron=not no_cron, progress=lambda m: click.echo(f"  {m}"))
    except MigrationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2 if isinstance(exc, MigrationRefused) else 1)
    except psycopg.Error as exc:  # anything else the server refused: one line, never a traceback
        click.echo(f"error: {scrub(str(exc).strip(), url)}", err=True)
        sys.exit(1)
    click.echo(
        f"done: {len(report.applied)} migration(s) applied, {len(report.already_applied)} already applied, "
        f"{report.functions_applied} function/trigger/view files applied"
        + ("" if no_cron else f", cron jobs in database {report.cron_database!r}")
    )
