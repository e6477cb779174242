"""The options every `valr-monitor` command shares: one definition of `--database-url` and `--json`."""

from __future__ import annotations

import click

DATABASE_ENV = "DATABASE_URL"


def database_url_option(help: str = "PostgreSQL URL (default: env DATABASE_URL).", *, from_env: bool = True):
    """`--database-url URL`. from_env=False for the lab commands: they default to a throwaway
    embedded PostgreSQL, and an exported DATABASE_URL (production's) must not redirect them."""
    return click.option("--database-url", "database_url", envvar=DATABASE_ENV if from_env else None,
                        metavar="URL", help=help)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")


def require_database_url(database_url: str | None) -> str:
    """Checked when the command runs (not while parsing, so `--help` and parsing need no database)."""
    if not database_url:
        raise click.UsageError(f"no database: pass --database-url or set {DATABASE_ENV}")
    return database_url
