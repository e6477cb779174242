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
    """Apply migrations, (re)create functions, views and triggers, and upsert the pg_cron jobs."""
    from worker.db.migrate import MigrationError
    from worker.db.migrate import migrate as run_migrate

    url = require_database_url(database_url)
    click.echo(f"migrating {dsn.redact(url)}")
    try:
        report = run_migrate(url, cron=not no_cron, progress=lambda m: click.echo(f"  {m}"))
    except MigrationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"done: {len(report.applied)} migration(s) applied, {len(report.already_applied)} already applied, "
        f"{report.functions_applied} function/trigger/view files applied"
        + ("" if no_cron else f", cron jobs in database {report.cron_database!r}")
    )
