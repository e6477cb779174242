"""`valr-monitor audit`: the ledger's audit of one day, now. Reads VALR's balances and transaction history
over REST for each account (worker/daemon/audit.py, the same code the daily job and the demo run), lets
SQL compare them with the database (lth_pvr.compare_audit_run) and prints SQL's verdict.

Exit codes: 0 clean; 1 mismatch (anything found, even a missing fill the audit fetched and resolved
itself: a missed fill is worth knowing); 2 could not audit (VALR or the database unreachable, no
credentials, an unknown account: nothing proven)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from uuid import UUID

import click
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from worker.daemon.audit import run_audit
from worker.db import dsn
from worker.db.store import Store
from worker.ops import queries as ops
from worker.ops.commands import _emit, _fail
from worker.options import database_url_option, json_option, require_database_url
from worker.valr import DEFAULT_BASE_URL, Credentials, ValrClient

EXIT = {"clean": 0, "mismatch": 1, "failed": 2}
COULD_NOT_AUDIT = 2
WHO = "valr-monitor audit"
SHOWN = ["finding_id", "kind", "ext_order_id", "currency", "transaction_ids", "valr_trades", "our_fills",
         "valr_qty", "our_qty", "valr_fee", "our_fee", "valr_balance", "our_balance", "resolved_at", "resolution"]


def verdict_line(run: dict) -> str:
    """SQL's verdict in one line, with its counts: a clean day says so explicitly."""
    day, word = run["day"], str(run["verdict"]).upper()
    compared = (f"{run['orders_compared'] or 0} order(s) compared with VALR's trades, "
                f"{run['currencies_compared'] or 0} balance(s) with the checkpoint plus every transaction since "
                f"({run['checkpoints_set'] or 0} checkpoint(s) opened, {run['currencies_unsettled'] or 0} "
                f"balance(s) still moving, not compared)")
    if run["verdict"] == "clean":
        return f"audit #{run['audit_run_id']} of {day} CLEAN: 0 findings; {compared}"
    if run["verdict"] == "failed":
        return f"audit #{run['audit_run_id']} of {day} FAILED (nothing proven): {run['error']}"
    return (f"audit #{run['audit_run_id']} of {day} MISMATCH: {run['findings']} finding(s), "
            f"{run['findings_resolved']} resolved by the audit; {compared}")


def audit_report(run: dict, findings: list[dict]) -> ops.Report:
    section = ops.Section("Findings", list(findings[0]) if findings else SHOWN, findings, display=SHOWN)
    return ops.Report([section] if findings else [], {"run": run, "findings": findings},
                      exit_code=EXIT.get(run["verdict"], COULD_NOT_AUDIT), headline=verdict_line(run))


async def audit_now(store: Store, client: ValrClient, day: date | None, account: UUID | None) -> ops.Report:
    run = await store.begin_audit_run(day, account)
    result = await run_audit(client, store, run)
    return audit_report(result, await store.audit_findings(run["audit_run_id"]))


def audit_once(url: str, base_url: str, credentials: Credentials, day: date | None, account: UUID | None) -> ops.Report:
    """One audit from synchronous code (the command, the demo)."""
    return asyncio.run(_audit(url, base_url, credentials, day, account))


async def _audit(url: str, base_url: str, credentials: Credentials, day: date | None,
                 account: UUID | None) -> ops.Report:
    pool = AsyncConnectionPool(url, min_size=1, max_size=2, open=False, name=WHO,
                               kwargs={"autocommit": True, "row_factory": dict_row, "application_name": WHO})
    client = ValrClient(base_url, credentials, requests_per_minute=60)
    try:
        await pool.open(wait=True, timeout=10)
        return await audit_now(Store(pool, WHO), client, day, account)
    finally:
        await client.aclose()
        await pool.close()


@click.command()
@database_url_option("PostgreSQL URL (default: env DATABASE_URL). A valr_worker member, or the owner.")
@json_option
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="The UTC day whose trades are audited (default: yesterday).")
@click.option("--account", type=click.UUID, default=None, metavar="UUID",
              help="One exchange_account_id (default: every account).")
@click.option("--valr-base-url", envvar="VALR_BASE_URL", default=DEFAULT_BASE_URL, show_default=True,
              metavar="URL", help="VALR API base URL (env VALR_BASE_URL).")
def audit(database_url: str | None, as_json: bool, day, account: UUID | None, valr_base_url: str) -> None:
    """Audit the ledger: VALR's trades of the day against order_fills (per order: count, quantity, fee)
    and VALR's balances now against the opening checkpoint plus every transaction since. Reads VALR
    over REST first (needs VALR_API_KEY and VALR_API_SECRET in the environment, like `run`); a fill
    VALR has and the database lacks is fetched and recorded, and its finding resolved.

    \b
    Exit status:
      0  clean: every order and every settled balance matches
      1  mismatch: something was found (even if the audit resolved it: a fill was missed)
      2  could not audit: VALR or the database unreachable, no credentials, an unknown account
    """
    url = require_database_url(database_url)
    key, secret = os.environ.get("VALR_API_KEY", ""), os.environ.get("VALR_API_SECRET", "")
    if not key or not secret:
        _fail("VALR_API_KEY and VALR_API_SECRET: required in the environment (never a flag)", COULD_NOT_AUDIT)
    try:
        report = audit_once(url, valr_base_url.rstrip("/"), Credentials(key, secret),
                            day.date() if day else None, account)
    except psycopg.Error as exc:  # PoolTimeout (unreachable database) included
        _fail(f"{dsn.redact(url)}: {ops.scrub(str(exc), url)}", COULD_NOT_AUDIT)
    _emit(report, as_json, url)
    sys.exit(report.exit_code)
