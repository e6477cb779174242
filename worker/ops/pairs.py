"""`valr-monitor pairs`: refresh lth_pvr.pairs from VALR's public pair list now (the worker also does it
at start and daily), then show the rules held. I/O only: lth_pvr.refresh_pairs decides what changes."""

from __future__ import annotations

import asyncio
import sys

import click
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from worker.daemon.pairs import refresh_pairs
from worker.db import dsn
from worker.db.store import Store
from worker.ops import queries as ops
from worker.ops.commands import _emit, _fail
from worker.options import database_url_option, json_option, require_database_url
from worker.valr import DEFAULT_BASE_URL, Credentials, RateLimited, TransportError, ValrClient, ValrError

SHOWN = ["pair", "active", "base_decimal_places", "tick_size", "min_base_amount", "max_base_amount",
         "min_quote_amount", "max_quote_amount", "order_types"]


async def _refresh(url: str, base_url: str) -> ops.Report:
    pool = AsyncConnectionPool(url, min_size=1, max_size=1, open=False, name="valr-monitor pairs",
                               kwargs={"autocommit": True, "row_factory": dict_row,
                                       "application_name": "valr-monitor pairs"})
    # Public endpoints: nothing is signed, so no key is needed.
    client = ValrClient(base_url, Credentials("", ""), requests_per_minute=30)
    try:
        await pool.open(wait=True, timeout=10)
        store = Store(pool, "valr-monitor pairs")
        result = await refresh_pairs(client, store)
        rules = await store.pair_rules()
    finally:
        await client.aclose()
        await pool.close()
    headline = (f"{result['pairs_listed']} pair(s) listed by VALR: {result['pairs_changed']} new or changed, "
                f"{result['pairs_deactivated']} deactivated, {result['items_skipped']} item(s) unreadable")
    section = ops.Section("Pair rules", list(rules[0]) if rules else SHOWN, rules, display=SHOWN)
    return ops.Report([section], {"refresh": result, "pairs": rules}, headline=headline)


@click.command()
@database_url_option("PostgreSQL URL (default: env DATABASE_URL). A valr_worker member, or the owner.")
@json_option
@click.option("--valr-base-url", envvar="VALR_BASE_URL", default=DEFAULT_BASE_URL, show_default=True,
              metavar="URL", help="VALR API base URL (env VALR_BASE_URL).")
def pairs(database_url: str | None, as_json: bool, valr_base_url: str) -> None:
    """Refresh the pair rules (lth_pvr.pairs) from VALR's GET /v1/public/pairs and /v1/public/ordertypes
    now, and list them. Needs the worker's rights (valr_worker) or the owner's."""
    url = require_database_url(database_url)
    try:
        report = asyncio.run(_refresh(url, valr_base_url.rstrip("/")))
    except (TransportError, RateLimited, ValrError) as exc:
        _fail(f"VALR's pair list could not be read: {exc}")
    except psycopg.Error as exc:  # PoolTimeout (unreachable database) included
        _fail(f"{dsn.redact(url)}: {ops.scrub(str(exc), url)}")
    _emit(report, as_json, url)
    sys.exit(report.exit_code)
