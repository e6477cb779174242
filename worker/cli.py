"""`valr-monitor`: one thin click command per verb; the work lives in the modules they call."""

from __future__ import annotations

import sys

import click

from worker.db import dsn


@click.group()
@click.version_option(package_name="valr-order-monitor")
def main() -> None:
    """Place VALR limit orders and follow each to its end, with PostgreSQL deciding every step."""


database_url_option = click.option(
    "--database-url", envvar="DATABASE_URL", metavar="URL",
    help="PostgreSQL URL (default: env DATABASE_URL).",
)


@main.command()
@database_url_option
@click.option("--no-cron", is_flag=True, help="Skip the pg_cron jobs (e.g. pg_cron not enabled yet).")
def migrate(database_url: str | None, no_cron: bool) -> None:
    """Apply migrations, (re)create functions, views and triggers, and upsert the pg_cron jobs."""
    from worker.db.migrate import MigrationError
    from worker.db.migrate import migrate as run_migrate

    if not database_url:
        raise click.UsageError("no database: pass --database-url or set DATABASE_URL")
    click.echo(f"migrating {dsn.redact(database_url)}")
    try:
        report = run_migrate(database_url, cron=not no_cron, progress=lambda m: click.echo(f"  {m}"))
    except MigrationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"done: {len(report.applied)} migration(s) applied, {len(report.already_applied)} already applied, "
        f"{report.functions_applied} function/trigger/view files applied"
        + ("" if no_cron else f", cron jobs in database {report.cron_database!r}")
    )


from worker import commands as _commands  # noqa: E402  (registers the other verbs)

_commands.register(main)
