"""`valr-monitor run`: the worker the user runs in production."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from worker import logs
from worker.config import ConfigError, build_settings
from worker.daemon.rlimit import raise_file_limit
from worker.interpreter import others_cannot_run
from worker.options import database_url_option


@click.command()
@database_url_option("PostgreSQL URL (env DATABASE_URL). Needs a session connection (no PgBouncer transaction mode: LISTEN).")
@click.option("--valr-base-url", envvar="VALR_BASE_URL", metavar="URL",
              help="VALR API base URL (env VALR_BASE_URL; default https://api.valr.com; WebSocket URL derived).")
@click.option("--max-session", type=float, default=None, metavar="SECONDS",
              help="Close a subaccount's WebSocket after this long (env VALR_MAX_SESSION_SECONDS; default 300; 0 = persistent).")
@click.option("--socket-wait", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="How long placement waits for the subaccount's socket to authenticate.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="info", show_default=True)
@click.option("--worker-id", default=None, help="Name of this worker in leases and sessions (default host:pid:random).")
@click.option("--lease-ttl", type=click.IntRange(2, 3600), default=None, metavar="SECONDS",
              help="A subaccount lease expires this long after its owner's last renewal (takeover time); "
                   "overrides the lease_ttl_seconds setting (default 30).")
@click.option("--catch-up", type=click.FloatRange(0.5, 3600), default=30.0, show_default=True, metavar="SECONDS",
              help="Ask the database what is due at least this often, even without a NOTIFY.")
def run(database_url, valr_base_url, max_session, socket_wait, log_format, log_level, worker_id,
        lease_ttl, catch_up) -> None:
    """Run the worker: place pending orders, watch them over VALR's account WebSocket, poll when told.

    VALR_API_KEY and VALR_API_SECRET come from the environment only.

    \b
    Exit status:
      0  stopped on SIGTERM/SIGINT
      2  refused to start: a setting, the database (URL, password, role, not migrated; one
         refusing connections or still starting is waited for), the API key (VALR refused a
         signed read-only request) or the clock (skew)
    """
    try:
        settings = build_settings(database_url=database_url, valr_base_url=valr_base_url,
                                  max_session=max_session, socket_wait=socket_wait, log_format=log_format,
                                  worker_id=worker_id, lease_ttl_s=lease_ttl, catch_up_s=catch_up)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    from psycopg.conninfo import conninfo_to_dict

    logs.register_secret(settings.credentials.api_secret)
    logs.register_secret(conninfo_to_dict(settings.database_url).get("password"))
    logs.setup(log_format, level={"debug": 10, "info": 20, "warning": 30}[log_level])
    # One socket per watched subaccount: a soft limit of 1,024 would cap the worker below 1,000.
    logs.event(logging.getLogger("worker.start"), "open files limit", soft=raise_file_limit())
    # Run by root today, by the service user tomorrow: say it now. INFO, not a warning: this process
    # runs, and a start-up refusal must stay the only error or warning line (tests/test_worker_e2e.py).
    if closed := others_cannot_run():
        logs.event(logging.getLogger("worker.start"), closed, logging.INFO)

    from worker.daemon.runner import DatabaseUnavailable, Runner  # heavy imports after validation

    from worker.db.preflight import StartupError
    from worker.valr import ClockSkewError

    try:
        sys.exit(asyncio.run(Runner(settings).run()))
    except (StartupError, ClockSkewError) as exc:  # a configuration problem: one line, no restart loop
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(0)
    except DatabaseUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
