"""The account ledger's REST catch-up, I/O only: SQL says which accounts are due
(claim_ledger_syncs: after every connect, on request, every ledger_sync_minutes) and, page by page,
whether to read on (record_transaction_page commits each page's transactions with the cursor). The
worker reads GET /v1/account/transactionhistory back from the newest transaction by `beforeId` until
SQL says done (the balances first), then the cursor-free re-scan of the last days when SQL says it is due.
An error leaves the cursor where it was (record_ledger_sync_failed): the next sync reads back to it.

With the primary account's key, the scheduled syncs of the subaccounts (socket or not) due together
(claim_ledger_batch) cost one windowed read of GET /v1/account/transactionhistory/subaccounts (paged
by `skip` until SQL says the window is complete: record_subaccount_window_page moves their cursors)
and one GET /v1/account/balances/all, whatever their number. VALR refusing the key these routes
(401/403) is recorded (record_ledger_batch_failed): per-account syncs from then on.

An account on an exchange reached through ccxt (Binance, Kraken, Coinbase) is claimed by the same
claim_ledger_syncs and read through its adapter (sync_exchange_ledger): fetch_balance, then its history
since the account's time cursor (fetch_ledger; Binance: fetch_deposits and fetch_withdrawals) read to the
end and recorded in one call (record_exchange_transactions: the rows and the cursor in one transaction),
the re-scan when due, then record_exchange_ledger_synced."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx

from worker.db.store import Store
from worker.logs import event
from worker.valr.errors import AuthenticationError, RateLimited, TransportError, ValrError
from worker.valr.rest import HISTORY_PAGE, ValrClient

if TYPE_CHECKING:  # ccxt (2-4 s to import) only once a ccxt account needs it: the adapter arrives made
    from worker.exchanges.ccxt_adapter import CcxtAdapter

log = logging.getLogger("worker.ledger")


async def read_back(client: ValrClient, store: Store, account_id: UUID, subaccount_id: str, source: str,
                    since: datetime | None = None) -> tuple[int, int]:
    """Pages of history, newest first, by `beforeId`, until SQL says done. Returns (pages, transactions
    recorded)."""
    def read(before_id: str | None) -> Awaitable[list[dict]]:
        return client.transaction_history(subaccount_id, limit=HISTORY_PAGE, before_id=before_id, start_time=since)

    def record(items: list[dict], before_id: str | None) -> Awaitable[dict]:
        return store.record_transaction_page(account_id, items, HISTORY_PAGE, before_id, source)

    def last_id(items: list[dict], _: str | None) -> str | None:
        """After a full page, where next_before_id points to read on: its last id."""
        last = items[-1].get("id") if len(items) == HISTORY_PAGE and isinstance(items[-1], dict) else None
        return last if isinstance(last, str) else None

    pages = await read_pages(read, record, None, last_id, lambda result: result["next_before_id"])
    return len(pages), sum(page["recorded"] for page in pages)


async def read_pages(read: Callable[[Any], Awaitable[list[dict]]], record: Callable[[list[dict], Any], Awaitable[dict]],
                     first: Any, guess: Callable[[list[dict], Any], Any], next_of: Callable[[dict], Any]) -> list[dict]:
    """Pages read by `read(where)` and recorded by `record(items, where)` until SQL says `done`, SQL's
    result naming where to read on (`next_of`); returns SQL's result of each page. While a full page is recorded, the page after it is
    read ahead from `guess(items, where)` (None: not a full page) — where SQL points when it reads on: a catch-up of 20,000
    transactions waited for each REST page and each commit in turn (docs/performance.md, figure 11).
    SQL still says whether and from where to read on; a page read ahead from anywhere else is dropped.
    Not after a short page (the end of the history: SQL is done), so a sync of a few new transactions
    costs no extra call; a full page that reaches a cursor costs one unused read."""
    where, results = first, []
    items = await read(where)
    while True:
        ahead = read_ahead(guess(items, where), read)
        try:
            result = await record(items, where)
        except BaseException:
            await drop(ahead)
            raise
        results.append(result)
        if result["done"]:
            await drop(ahead)
            return results
        where = next_of(result)
        if ahead is not None and ahead[0] == where:
            items = await ahead[1]
        else:
            await drop(ahead)
            items = await read(where)


Ahead = tuple[Any, asyncio.Task]  # a page being read ahead: where it is read from, its read


def read_ahead(where: Any, read: Callable[[Any], Awaitable[list[dict]]]) -> Ahead | None:
    """The page after a full one, read now from where SQL will point if it reads on (None: unknown)."""
    if where is None:
        return None
    return where, asyncio.create_task(read(where), name=f"ledger page read ahead from {where}")


async def drop(ahead: Ahead | None) -> None:
    """A page read ahead that SQL did not ask for: cancelled, and its outcome (an error too) let go.
    asyncio.wait raises neither, while a cancellation of this task still reaches it."""
    if ahead is None:
        return
    task = ahead[1]
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved: an error of a page nobody asked for is not logged as unhandled


async def sync_ledger(client: ValrClient, store: Store, claim: dict) -> None:
    """One claimed sync: the balances, the catch-up, the re-scan when due. The balances come first so
    that the cursor's synced_at, stamped with the catch-up's last page, says both were read."""
    account_id, subaccount_id = claim["exchange_account_id"], claim["subaccount_id"]
    try:
        await store.record_balance_snapshot(account_id, await client.balances(subaccount_id))
        pages, recorded = await read_back(client, store, account_id, subaccount_id, "rest")
        late = 0
        if claim["rescan_due"]:
            _, late = await read_back(client, store, account_id, subaccount_id, "rescan", claim["rescan_since"])
    except (ValrError, TransportError, httpx.HTTPError) as exc:
        await store.record_ledger_sync_failed(account_id, f"{type(exc).__name__}: {exc}")
        event(log, "ledger sync failed", logging.WARNING, subaccount=subaccount_id, error=str(exc)[:200])
        return
    if recorded or late:
        event(log, "ledger caught up", subaccount=subaccount_id, pages=pages, recorded=recorded, late=late)


async def read_window(client: ValrClient, store: Store, account_ids: list[UUID], start: datetime, end: datetime,
                      source: str) -> int:
    """The skip pages of one across-subaccount window until SQL says it is complete (read_pages: the
    next page read ahead from skip + a full page, where SQL's next_skip points). Returns the
    transactions recorded."""
    def read(skip: int) -> Awaitable[list[dict]]:
        return client.transaction_history_across(start=start, end=end, skip=skip, limit=HISTORY_PAGE)

    def record(items: list[dict], skip: int) -> Awaitable[dict]:
        return store.record_subaccount_window_page(account_ids, items, HISTORY_PAGE, skip, start, end, source)

    def after(groups: list[dict], skip: int) -> int | None:
        """After a full page (its groups' transactions: skip/limit count those), where next_skip points."""
        n = sum(len(g["transactions"]) for g in groups
                if isinstance(g, dict) and isinstance(g.get("transactions"), list))
        return skip + n if n == HISTORY_PAGE else None

    pages = await read_pages(read, record, 0, after, lambda result: result["next_skip"])
    return sum(page["recorded"] for page in pages)


async def sync_across(client: ValrClient, store: Store, batch: list[dict]) -> None:
    """One claimed batch (claim_ledger_batch: every row carries the batch's window): the window, the
    re-scan window when due, every account's balances."""
    ids, first = [row["exchange_account_id"] for row in batch], batch[0]
    try:
        recorded = await read_window(client, store, ids, first["window_start"], first["window_end"], "rest")
        late = 0
        if first["rescan_since"] is not None:
            late = await read_window(client, store, ids, first["rescan_since"], first["window_end"], "rescan")
        asked_at = datetime.now(timezone.utc)  # VALR omits zero balances: absent since this moment = zero
        await store.record_balances_all(await client.balances_all(), asked_at)
    except AuthenticationError as exc:
        await store.record_ledger_batch_failed(ids, f"{type(exc).__name__}: {exc}", refused=True)
        event(log, "VALR refused the across-subaccount ledger reads (not the primary account's key?): "
                   "per-subaccount reads instead", logging.WARNING, accounts=len(ids), error=str(exc)[:200])
        return
    except (ValrError, TransportError, httpx.HTTPError) as exc:
        await store.record_ledger_batch_failed(ids, f"{type(exc).__name__}: {exc}", refused=False)
        event(log, "ledger window failed", logging.WARNING, accounts=len(ids), error=str(exc)[:200])
        return
    event(log, "ledger window read", accounts=len(ids), recorded=recorded, late=late)


async def _now() -> None:
    return None


def _ms(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() * 1000)


async def sync_exchange_ledger(adapter: CcxtAdapter, store: Store, claim: dict,
                               ready: Callable[[], Awaitable[Any]] | None = None) -> None:
    """One claimed sync of a ccxt account: its balance, its history since the cursor, the re-scan of the
    last days when due; an error leaves the cursor where it was (record_ledger_sync_failed). `ready`:
    awaited before each call (the account's session connected and reconciled: its key's throttle is shared,
    and Kraken's Ledgers costs several seconds of it)."""
    account_id = claim["exchange_account_id"]
    wait = ready or _now
    try:
        await wait()
        balance = await adapter.balance()
        await store.record_exchange_balances(account_id, "rest", balance)
        codes = sorted((balance.get("total") or {}).keys())
        await wait()
        read = await store.record_exchange_transactions(
            account_id, "rest", await adapter.history(_ms(claim["newest_event_at"]), codes))  # Kraken: ~1 s a call
        late = None
        since = claim["newest_event_at"]
        if claim["rescan_due"] and since is not None:  # without a cursor the read above was cursor-free
            await wait()
            late = await store.record_exchange_transactions(
                account_id, "rescan", await adapter.history(_ms(claim["rescan_since"]), codes))
        await store.record_exchange_ledger_synced(account_id, claim["rescan_due"])
    except (ValrError, TransportError, RateLimited) as exc:
        await store.record_ledger_sync_failed(account_id, f"{type(exc).__name__}: {exc}")
        event(log, "ledger sync failed", logging.WARNING, exchange=adapter.exchange, account=str(account_id),
              error=str(exc)[:200])
        return
    if read["recorded"] or (late and late["recorded"]):
        event(log, "ledger caught up", exchange=adapter.exchange, account=str(account_id),
              recorded=read["recorded"], late=late["recorded"] if late else 0)
