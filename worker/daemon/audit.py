"""The ledger's audit, I/O only: VALR's side made fresh, then SQL compares. For each account of the run
(lth_pvr.audit_accounts): the balances first (GET /v1/account/balances), then the transaction history —
the catch-up back to the cursor, under the sync's claim like any worker's, and a re-scan from the audited
day's start — through the ledger's own reads (ledger.read_back), so every transaction a balance holds is
recorded before the comparison (lth_pvr.compare_audit_run). The fills of a `missing_fill` are fetched
over REST and recorded through the fill path every REST lookup uses (Lookups.fetch_fills → record_fill);
SQL then says which findings match now (resolve_matched_findings). The verdict is SQL's (finish_audit_run). The same code runs for
`valr-monitor audit`, the daily job (a worker claims it) and the demo's last line."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time, timezone

import httpx

from worker.daemon.ledger import read_back
from worker.daemon.lookups import Lookups
from worker.db.store import Store
from worker.logs import event
from worker.valr.errors import TransportError, ValrError
from worker.valr.rest import ValrClient

log = logging.getLogger("worker.audit")

SYNC_WAIT_S = 60.0  # a worker's catch-up of one account takes seconds; longer: something is wrong
FETCHED = "fetched over REST (trade history) and recorded through record_fill"


class SyncHeld(Exception):
    """Another worker's ledger sync of the account did not finish in time: nothing proven."""


async def catch_up(client: ValrClient, store: Store, account_id, subaccount_id: str) -> None:
    """The ledger's catch-up under its claim, as a worker's sync does it: two catch-ups of one cursor at
    once would each read on to the history's end. A sync under way elsewhere is waited for (bounded)."""
    deadline = asyncio.get_running_loop().time() + SYNC_WAIT_S
    while not await store.request_and_claim_ledger_sync(account_id):
        if asyncio.get_running_loop().time() > deadline:
            raise SyncHeld(f"the ledger sync of {subaccount_id or 'the primary account'} is held by another worker")
        await asyncio.sleep(0.5)
    try:
        await read_back(client, store, account_id, subaccount_id, "rest")
    except (ValrError, TransportError, httpx.HTTPError) as exc:
        await store.record_ledger_sync_failed(account_id, f"{type(exc).__name__}: {exc}")
        raise


async def read_valr(client: ValrClient, store: Store, run: dict) -> None:
    """Balances, then history: a transaction landing in between is recorded (and, stamped after the
    balance, left out of it by audit_balances' bound); none that a balance holds is missed. The
    re-scan from the day's start finds what the socket and the catch-up both missed."""
    day_start = datetime.combine(run["day"], time(), tzinfo=timezone.utc)
    for account in await store.audit_accounts(run["audit_run_id"]):
        account_id, subaccount_id = account["exchange_account_id"], account["subaccount_id"]
        await store.record_balance_snapshot(account_id, await client.balances(subaccount_id))
        await catch_up(client, store, account_id, subaccount_id)
        await read_back(client, store, account_id, subaccount_id, "rescan", day_start)


async def fetch_missing_fills(client: ValrClient, store: Store, run_id: int, findings: list[dict]) -> int:
    """The trades of each order a `missing_fill` names, recorded; then SQL resolves what matches now."""
    order_ids = {f["exchange_order_id"] for f in findings
                 if f["kind"] == "missing_fill" and f["exchange_order_id"] and f["resolved_at"] is None}
    if not order_ids:
        return 0
    lookups = Lookups(client, store)
    for order in await store.orders_for_lookup(sorted(order_ids)):
        await lookups.fetch_fills(order)
    return await store.resolve_matched_findings(run_id, FETCHED)


async def run_audit(client: ValrClient, store: Store, run: dict) -> dict:
    """One audit run (its id and day), to its verdict: the finished lth_pvr.audit_runs row."""
    run_id = run["audit_run_id"]
    try:
        await read_valr(client, store, run)
        findings = await store.compare_audit_run(run_id)
        await fetch_missing_fills(client, store, run_id, findings)
    except (ValrError, TransportError, httpx.HTTPError, SyncHeld) as exc:
        result = await store.finish_audit_run(run_id, f"{type(exc).__name__}: {exc}")
        event(log, "ledger audit failed", logging.WARNING, run=run_id, error=str(exc)[:200])
        return result
    result = await store.finish_audit_run(run_id)
    event(log, "ledger audit finished", logging.INFO if result["verdict"] == "clean" else logging.WARNING,
          run=run_id, day=str(run["day"]), verdict=result["verdict"], findings=result["findings"],
          resolved=result["findings_resolved"])
    return result
