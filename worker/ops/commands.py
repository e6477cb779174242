"""`valr-monitor status | metrics | alerts | poll | cancel | orders`: thin click commands over
worker/ops/queries.py. Each parses its arguments, opens one connection, calls one ops function and
prints the report: an aligned table for people, or with --json one JSON object on stdout.

Exit codes: 0 done; 1 the database was unreachable or failed (poll/cancel also: an id matched no
order); 2 usage error (click's); 4 permission denied (the role lacks the right: poll and cancel need
valr_operator). `alerts` follows the Nagios plugin convention instead, see its help.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click
import psycopg

from worker.db import dsn
from worker.ops import queries as ops
from worker.options import database_url_option as shared_database_url_option
from worker.options import json_option, require_database_url

database_url_option = shared_database_url_option(
    "PostgreSQL URL (default: env DATABASE_URL). A valr_reader member is enough, except for poll and cancel "
    "(valr_operator).")

DENIED = 4  # its own exit code: "you may not" is not "no such order" (1)


def _emit(report: ops.Report, as_json: bool, database_url: str) -> None:
    if as_json:
        click.echo(ops.to_json({"database": dsn.redact(database_url)} | report.data))
    else:
        click.echo(ops.render(report))


def _run(database_url: str | None, as_json: bool, work: Callable[[psycopg.Connection], ops.Report],
         *, read_only: bool = True) -> None:
    """Connect, do the work, print; database trouble is one line on stderr and exit 1 (a permission
    denied: exit 4, saying which role is needed)."""
    url = require_database_url(database_url)
    try:
        with ops.connect(url, read_only=read_only) as conn:
            report = work(conn)
    except ops.OpsError as exc:
        _fail(str(exc))
    except psycopg.errors.InsufficientPrivilege as exc:
        needs = "valr_reader" if read_only else "valr_operator"
        _fail(f"{ops.scrub(str(exc), url)} (this needs a member of {needs})", DENIED)
    except psycopg.Error as exc:
        _fail(ops.scrub(str(exc), url))
    _emit(report, as_json, url)
    sys.exit(report.exit_code)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command()
@database_url_option
@json_option
def status(database_url: str | None, as_json: bool) -> None:
    """Open orders by subaccount and age, active WebSocket sessions and their workers, the last
    safety-net run, and orders stuck longer than the stuck_order_minutes setting."""
    _run(database_url, as_json, ops.status)


@click.command()
@database_url_option
@json_option
@click.option("--days", type=click.IntRange(1, 3650), default=7, show_default=True,
              help="Window: orders submitted in the last N days.")
def metrics(database_url: str | None, as_json: bool, days: int) -> None:
    """The monitoring metrics as tables: WebSocket coverage, polls per order, completion time,
    update method (the spec's query) and which source delivered each final status."""
    _run(database_url, as_json, lambda conn: ops.metrics(conn, days))


class NagiosCommand(click.Command):
    """A command whose usage errors exit 3 (unknown), never 2: 2 means `critical` to a monitor."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            exc.exit_code = ops.UNKNOWN
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = ops.UNKNOWN
            raise


@click.command(cls=NagiosCommand)
@database_url_option
@json_option
def alerts(database_url: str | None, as_json: bool) -> None:
    """Check the alert thresholds (view lth_pvr.v_alerts) the Nagios way, for cron or a monitor.

    Prints one summary line, then each alert that fires with its level, measured value and
    threshold (an alert that does not fire is not listed); its detail names the orders, workers or
    pairs concerned. What each alert means and what to do: section "Alerts" of docs/operations.md
    in the project's source (not installed with the package).

    \b
    Exit status:
      0  ok: no alert firing
      1  warning: at least one warning, no critical
      2  critical: at least one critical alert
      3  unknown: the database is unreachable, the check failed, or the command line is wrong
         (usage errors exit 3 here, not click's usual 2, which a monitor would read as critical)
    """
    url = require_database_url(database_url)
    try:
        with ops.connect(url) as conn:
            report = ops.alerts(conn)
    except ops.OpsError as exc:
        report = ops.alerts_unknown(str(exc))
    except psycopg.Error as exc:
        report = ops.alerts_unknown(f"check failed: {ops.scrub(str(exc), url)}")
    _emit(report, as_json, url)
    sys.exit(report.exit_code)


def _order_ids(values: tuple[str, ...]) -> list:
    try:
        return ops.parse_order_ids(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="EXCHANGE_ORDER_ID") from None


@click.command()
@database_url_option
@json_option
@click.argument("exchange_order_ids", metavar="EXCHANGE_ORDER_ID...", nargs=-1, required=True)
def poll(database_url: str | None, as_json: bool, exchange_order_ids: tuple[str, ...]) -> None:
    """Ask the worker to poll these orders now (lth_pvr.request_poll; needs valr_operator).

    Outcome per id: queued, skipped_recent (polled within poll_recent_minutes), terminal,
    not_placed (pending/placing), unknown_id. Exit 1 when an id matched no order; a malformed id
    exits 2 before anything is requested; exit 4 when the role may not request polls.
    """
    ids = _order_ids(exchange_order_ids)
    _run(database_url, as_json, lambda conn: ops.poll(conn, ids), read_only=False)


@click.command()
@database_url_option
@json_option
@click.argument("exchange_order_ids", metavar="EXCHANGE_ORDER_ID...", nargs=-1, required=True)
def cancel(database_url: str | None, as_json: bool, exchange_order_ids: tuple[str, ...]) -> None:
    """Ask for these orders to be cancelled (lth_pvr.request_cancel; needs valr_operator).

    Outcome per id: requested (the status changes when VALR confirms), fallback_off (a fallback's
    cancel was on its way: the fallback is off, no market order follows), already_requested,
    cancelled_before_placement (nothing had been sent to VALR), terminal, unknown_id. Exit 1 when an id matched no
    order; a malformed id exits 2 before anything is requested; exit 4 when the role may not cancel.
    """
    ids = _order_ids(exchange_order_ids)
    _run(database_url, as_json, lambda conn: ops.cancel(conn, ids), read_only=False)


@click.command()
@database_url_option
@json_option
@click.option("--open", "open_only", is_flag=True, help="Only pending, placing and submitted orders.")
@click.option("--subaccount", metavar="S", help="Only this subaccount id ('' = the primary account).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Newest first, at most this many.")
def orders(database_url: str | None, as_json: bool, open_only: bool, subaccount: str | None,
           limit: int) -> None:
    """Orders with status, filled quantity, average price and fees by currency (newest first)."""
    _run(database_url, as_json,
         lambda conn: ops.orders(conn, open_only=open_only, subaccount=subaccount, limit=limit))
