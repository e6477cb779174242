"""Calls to the SQL functions in db/functions — nothing else. Every query here is a function call with
parameters; the database decides, this module only carries arguments and results.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row, tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # VALR's numbers are strings; a Decimal goes back as the same string
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON for jsonb: Decimals as VALR's strings; U+0000, which jsonb refuses (and would abort a whole
    batch), replaced by U+FFFD — the rest of the payload still reaches SQL, which judges it."""
    text = json.dumps(value, default=_json_default)
    if "\\u0000" in text:
        text = json.dumps(_without_nul(value), default=_json_default)
    return text


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=dumps)


def frames_jsonb(frames: list[dict]) -> Jsonb:
    """A socket read's frames for a recording call: each as received when it holds the text jsonb reads
    as the same value (worker/valr/events.py, ReceivedFrame), else encoded. Encoding parsed frames again
    took ~3.7 µs a frame of the worker's ~30 in figure 2 (60,000 frames a burst); as received, 0.35."""
    return Jsonb(frames, dumps=_frames_text)


def _frames_text(frames: list[dict]) -> str:
    return "[" + ",".join(getattr(frame, "text", None) or dumps(frame) for frame in frames) + "]"


# The rows of a VALR read the session follows up (SubaccountSession._act_on): an order gone from the
# open-orders list, and an order VALR's word finished. A burst's call of 240 frames returned 240 rows,
# which the worker turned into dicts only to drop (~17 % of its CPU in figure 2); now the few it uses.
ACTED_ON = "b.outcome = 'missing' OR (b.outcome = 'applied' AND lth_pvr.is_final(b.new_status))"

_PLACEMENT_UUIDS = ("exchange_order_id", "exchange_account_id", "intent_id", "customer_order_id")


def _placement(row: dict) -> dict:
    """A claim_pending_orders row that came as JSON (hand_over_replacements): its types back."""
    out = dict(row)
    for key in _PLACEMENT_UUIDS:
        out[key] = UUID(row[key])
    for key in ("price", "qty"):
        out[key] = None if row[key] is None else Decimal(row[key])
    return out


def _cancel(row: dict) -> dict:
    """A claim_cancel_requests row that came as JSON (hand_over_cancels): its ids back to UUIDs."""
    return {**row, "exchange_order_id": UUID(row["exchange_order_id"]),
            "exchange_account_id": UUID(row["exchange_account_id"])}


class Store:
    """One method per SQL function the worker may call (EXECUTE granted to valr_worker)."""

    def __init__(self, pool: AsyncConnectionPool, worker_id: str) -> None:
        self.pool = pool
        self.worker_id = worker_id

    async def _rows(self, query: str, params: tuple) -> list[dict]:
        async with self.pool.connection() as conn:
            cur = await conn.cursor(row_factory=dict_row).execute(query, params)
            return await cur.fetchall()

    async def _rows_and_json_once(self, query: sql.Composable, params: tuple) -> tuple[list[dict], Any]:
        """Rows whose last column is one JSON value the statement made once and repeated on every row (a
        hand-over), as text: parsed here once. psycopg's jsonb loader parsed it again on every row (~2.3 µs
        a row in Python: 0.54 ms of the worker's CPU for a record_batch call of 240 frames, against 0.3
        for the rest of its result); tuple rows zipped with the names also skip dict_row's call a row."""
        async with self.pool.connection() as conn:
            cur = await conn.cursor(row_factory=tuple_row).execute(query, params)
            rows = await cur.fetchall()
            names = [column.name for column in cur.description[:-1]]
        if not rows:
            return [], None
        shared = rows[0][-1]
        # zip stops at the shorter: each row's dict leaves the shared last column out.
        return [dict(zip(names, row)) for row in rows], None if shared is None else json.loads(shared)

    async def _one(self, query: str, params: tuple) -> dict | None:
        rows = await self._rows(query, params)
        return rows[0] if rows else None

    # -- workers and leases ---------------------------------------------------------------------
    async def heartbeat(self, host: str, pid: int) -> None:
        await self._rows("SELECT lth_pvr.worker_heartbeat(%s, %s, %s)", (self.worker_id, host, pid))

    async def started(self, host: str, pid: int, pid_namespace: str | None) -> list[dict]:
        """Records this process's start; returns the other workers it may have to wait for."""
        return await self._rows("SELECT * FROM lth_pvr.worker_started(%s, %s, %s, %s)",
                                (self.worker_id, host, pid, pid_namespace))

    async def record_persistent_sessions(self, persistent: bool) -> None:
        await self._rows("SELECT lth_pvr.record_persistent_sessions(%s, %s)", (self.worker_id, persistent))

    async def take_over_dead_workers(self, dead: list[dict]) -> list[dict]:
        """`dead`: worker_started rows whose process this host proved gone."""
        return await self._rows("SELECT * FROM lth_pvr.take_over_dead_workers(%s, %s)",
                                (self.worker_id, jsonb([{k: w[k] for k in ("worker_id", "pid", "started_at")}
                                                        for w in dead])))

    async def record_task_failure(self, task: str, error: str) -> None:
        await self._rows("SELECT lth_pvr.record_task_failure(%s, %s, %s)", (self.worker_id, task, error))

    async def record_clock_check(self, skew_s: float | None, refused: bool) -> None:
        await self._rows("SELECT lth_pvr.record_clock_check(%s, %s::numeric, %s)", (self.worker_id, skew_s, refused))

    async def stopped(self) -> None:
        await self._rows("SELECT lth_pvr.worker_stopped(%s)", (self.worker_id,))

    async def worker_settings(self) -> dict:
        """{lease_ttl_seconds, ws_connects_per_minute}: lth_pvr.settings, read once at start."""
        return await self._one("SELECT * FROM lth_pvr.worker_settings()", ())  # type: ignore[return-value]

    async def acquire_leases(self, ttl_s: int) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.acquire_leases(%s, %s)", (self.worker_id, ttl_s))

    async def lease_ended_why(self, account_ids: list[UUID]) -> dict[UUID, str]:
        """Why each of these leases is no longer this worker's: 'taken', 'nothing_open' or 'handed_back'."""
        rows = await self._rows("SELECT * FROM lth_pvr.lease_ended_why(%s, %s)", (self.worker_id, account_ids))
        return {row["exchange_account_id"]: row["why"] for row in rows}

    async def release_lease(self, account_id: UUID) -> None:
        await self._rows("SELECT lth_pvr.release_lease(%s, %s)", (self.worker_id, account_id))

    async def account_work(self, account_id: UUID | None = None) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.account_work(%s, %s)", (self.worker_id, account_id))

    # -- pair rules -----------------------------------------------------------------------------
    async def refresh_pairs(self, pairs: Any, order_types: Any | None) -> dict:
        """VALR's /v1/public/pairs (and /v1/public/ordertypes, or None) → lth_pvr.pairs."""
        return await self._one("SELECT * FROM lth_pvr.refresh_pairs(%s, %s)",
                               (jsonb(pairs), jsonb(order_types) if order_types is not None else None))

    async def refresh_exchange_pairs(self, exchange: str, markets: dict) -> dict:
        """ccxt's load_markets (spot, precision as tick sizes) → lth_pvr.pairs of that exchange."""
        return await self._one("SELECT * FROM lth_pvr.refresh_exchange_pairs(%s, %s)", (exchange, jsonb(markets)))

    async def account_exchanges(self, account_ids: list[UUID] | None = None) -> list[dict]:
        """(exchange_account_id, exchange, credential_ref, subaccount_id, label) of each account."""
        return await self._rows("SELECT * FROM lth_pvr.account_exchanges(%s::uuid[])", (account_ids,))

    async def pair_refresh_due(self) -> bool:
        row = await self._one("SELECT lth_pvr.pair_refresh_due() AS due", ())
        return bool(row and row["due"])

    async def pair_rules(self) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.pair_rules()", ())

    # -- placement ------------------------------------------------------------------------------
    async def claim_pending_orders(self, account_ids: list[UUID] | None = None, limit: int = 100) -> list[dict]:
        return await self._rows(
            "SELECT * FROM lth_pvr.claim_pending_orders(%s, %s, %s)", (self.worker_id, account_ids, limit)
        )

    async def begin_placement(self, order_id: UUID) -> bool:
        row = await self._one("SELECT lth_pvr.begin_placement(%s) AS go", (order_id,))
        return bool(row and row["go"])

    async def record_auth_refused(self, reason: str, order_id: UUID | None = None) -> int:
        row = await self._one("SELECT lth_pvr.record_auth_refused(%s, %s, %s) AS back",
                              (self.worker_id, reason, order_id))
        return int(row["back"]) if row else 0

    async def record_auth_accepted(self) -> bool:
        row = await self._one("SELECT lth_pvr.record_auth_accepted(%s) AS was_refused", (self.worker_id,))
        return bool(row and row["was_refused"])

    async def retry_placement(self, order_id: UUID, attempt: int) -> bool:
        row = await self._one("SELECT lth_pvr.retry_placement(%s, %s) AS go", (order_id, attempt))
        return bool(row and row["go"])

    async def record_placement(self, order_id: UUID, ext_order_id: str | None,
                               failed_reason: str | None = None, payload: Any = None) -> dict | None:
        return await self._one(
            "SELECT * FROM lth_pvr.record_placement(%s, %s, %s, %s)",
            (order_id, ext_order_id, failed_reason, jsonb(payload) if payload is not None else None),
        )

    async def record_placement_refused(self, order_id: UUID, refusal: str, detail: str) -> dict | None:
        """A placement refused before VALR accepted anything (refusal: valr_error, rate_limited,
        precision); SQL decides what it does to the order."""
        return await self._one("SELECT * FROM lth_pvr.record_placement_refused(%s, %s, %s)",
                               (order_id, refusal, detail[:500]))

    async def claim_lost_placements(self, older_than_s: int, in_flight: set[UUID] | list[UUID] = ()) -> list[dict]:
        """Lost placements whose next lookup is due (SQL spaces them out), except those in flight here."""
        return await self._rows("SELECT * FROM lth_pvr.claim_lost_placements(%s, %s, %s)",
                                (self.worker_id, older_than_s, list(in_flight)))

    async def requeue_unsent_placements(self) -> int:
        """Claims of this worker's accounts that never sent their request, whose claimer is gone or
        whose grace is over: back to pending, to be placed again."""
        row = await self._one("SELECT lth_pvr.requeue_unsent_placements(%s) AS n", (self.worker_id,))
        return int(row["n"]) if row else 0

    async def record_placement_not_found(self, order_id: UUID) -> dict | None:
        return await self._one("SELECT * FROM lth_pvr.record_placement_not_found(%s)", (order_id,))

    # -- what VALR said -------------------------------------------------------------------------
    async def record_order_update(self, account_id: UUID, source: str, payload: dict) -> list[dict]:
        return await self._rows(
            "SELECT * FROM lth_pvr.record_order_update(%s, %s, %s)", (account_id, source, jsonb(payload))
        )

    async def record_placement_answer(self, account_id: UUID, answer: dict) -> list[dict]:
        """A ccxt exchange's answer to create_order: its trades, then the order, in one transaction; the
        order's row says whether its new status is final."""
        return await self._rows("SELECT * FROM lth_pvr.record_placement_answer(%s, %s)", (account_id, jsonb(answer)))

    async def record_fills(self, account_id: UUID, source: str, trades: list[dict]) -> list[dict]:
        """Each trade through record_fill, in one transaction (one round trip per trade)."""
        if not trades:
            return []
        out: list[dict] = []
        async with self.pool.connection() as conn:
            async with conn.transaction():
                cur = conn.cursor(row_factory=dict_row)
                for trade in trades:
                    await cur.execute("SELECT * FROM lth_pvr.record_fill(%s, %s, %s)",
                                      (account_id, source, jsonb(trade)))
                    out.extend(await cur.fetchall())
        return out

    async def record_batch(self, session_id: int, frames: list[dict],
                           superseded: int = 0) -> tuple[list[dict], list[dict]]:
        """`superseded`: open-orders lists received among these frames but dropped because a newer one
        followed (worker/valr/framequeue.py); counted as received, never recorded. Returns the rows the
        session follows up (ACTED_ON: `missing`, or `applied` with a final status), each saying whether
        its new_status is final (lth_pvr.is_final: the list of final statuses lives in SQL); the rest
        are recorded in order_events.
        Also returns the placements SQL handed to this session in the same transaction
        (hand_over_replacements: a fallback's replacements, claimed and their first attempt stamped):
        the caller POSTs them now."""
        return await self._recorded_with_hand_over(
            "lth_pvr.record_batch(%s, %s, p_superseded => %s)", (session_id, frames_jsonb(frames), superseded),
            session_id, ACTED_ON)

    async def _recorded_with_hand_over(self, call: str, params: tuple, session_id: int,
                                       rows_wanted: str = "true") -> tuple[list[dict], list[dict]]:
        """A recording call's rows that meet `rows_wanted` (SQL over the call's columns), each with
        `final`, and hand_over_replacements in its transaction — returned even when no row is wanted."""
        # `call` and `rows_wanted` are this module's own constants, never data.
        query = sql.SQL(
            "WITH b AS MATERIALIZED (SELECT * FROM {call}),"
            " h AS (SELECT lth_pvr.hand_over_replacements(%s, array_agg(b.exchange_order_id)"
            "        FILTER (WHERE lth_pvr.is_final(b.new_status))) AS placements FROM b)"
            " SELECT b.*, lth_pvr.is_final(b.new_status) AS final, h.placements::text"
            "   FROM h LEFT JOIN b ON {wanted}").format(call=sql.SQL(call), wanted=sql.SQL(rows_wanted))
        rows, placements = await self._rows_and_json_once(query, (*params, session_id))
        # No row wanted: the one row that carries the hand-over has none of the call's columns.
        return [r for r in rows if r["outcome"] is not None], [_placement(p) for p in placements or []]

    async def record_exchange_events(self, session_id: int, orders: list[dict],
                                     trades: list[dict]) -> tuple[list[dict], list[dict]]:
        """One read of a ccxt account stream (watch_orders / watch_my_trades), as record_batch: each row
        says whether its new_status is final, and the fallback replacements SQL handed to this session in
        the same transaction come back to be POSTed now."""
        return await self._recorded_with_hand_over(
            "lth_pvr.record_exchange_events(%s, %s, %s)", (session_id, jsonb(orders), jsonb(trades)), session_id)

    async def reconcile_open_orders(self, account_id: UUID, source: str, open_orders: list[dict]) -> list[dict]:
        return await self._rows(
            "SELECT * FROM lth_pvr.reconcile_open_orders(%s, %s, %s)", (account_id, source, jsonb(open_orders))
        )

    # -- live prices ----------------------------------------------------------------------------
    async def prices_to_watch(self) -> dict:
        """pairs (to subscribe to), rest_pairs (stale: read them over REST), rest_poll_seconds, quiet_seconds."""
        return await self._one("SELECT * FROM lth_pvr.prices_to_watch()", ())  # type: ignore[return-value]

    async def exchange_prices_to_watch(self, exchange: str) -> dict:
        """As prices_to_watch, for one exchange reached through ccxt (pairs are ccxt symbols)."""
        return await self._one("SELECT * FROM lth_pvr.prices_to_watch(%s)", (exchange,))  # type: ignore[return-value]

    async def record_exchange_prices(self, exchange: str, tickers: list[dict], source: str = "ws") -> list[dict]:
        """ccxt tickers → market_prices; returns the orders whose fallback trigger they fired."""
        return await self._rows("SELECT * FROM lth_pvr.record_exchange_prices(%s, %s, %s)",
                                (exchange, jsonb(tickers), source))

    async def record_market_prices(self, frames: list[dict], source: str) -> tuple[list[dict], list[dict]]:
        """Records the prices; returns the orders whose trigger they fired, and the cancels of those SQL
        handed to this worker in the same transaction (hand_over_cancels)."""
        return await self._fired_with_cancels("SELECT * FROM lth_pvr.record_market_prices(%s, %s)",
                                              (frames_jsonb(frames), source))

    async def _fired_with_cancels(self, fired: str, params: tuple) -> tuple[list[dict], list[dict]]:
        """A fallback trigger's call (`fired`: rows with exchange_order_id) and, in the same statement
        (one transaction), hand_over_cancels on what it fired: the cancels of this worker's leases,
        claimed and their attempt stamped — the caller DELETEs them now, no claim round trip after."""
        # `fired` is one of this module's own constants (the price and age triggers' calls), never data.
        query = sql.SQL("WITH f AS MATERIALIZED ({fired}) SELECT f.*, h.cancels::text FROM f,"
                        " (SELECT lth_pvr.hand_over_cancels(%s, array_agg(f.exchange_order_id)) AS cancels FROM f) h"
                        ).format(fired=sql.SQL(fired))
        rows, cancels = await self._rows_and_json_once(query, (*params, self.worker_id))
        return rows, [_cancel(c) for c in cancels or []]

    # -- the fallback's time trigger -------------------------------------------------------------
    async def next_fallback_due(self) -> float | None:
        """Seconds until this worker's next age fallback falls due (None: none pending)."""
        row = await self._one("SELECT lth_pvr.next_fallback_due(%s) AS due", (self.worker_id,))
        return None if row is None or row["due"] is None else float(row["due"])

    async def request_due_fallbacks(self) -> tuple[list[dict], list[dict]]:
        """Requests the cancels of this worker's due age fallbacks (and of price crossings confirmed);
        returns those orders, and their cancels handed to this worker (hand_over_cancels)."""
        return await self._fired_with_cancels("SELECT * FROM lth_pvr.request_due_fallbacks(%s)", (self.worker_id,))

    async def next_market_lookup_due(self) -> float | None:
        """Seconds until this worker's next market-order lookup falls due (None: none pending)."""
        row = await self._one("SELECT lth_pvr.next_market_lookup_due(%s) AS due", (self.worker_id,))
        return None if row is None or row["due"] is None else float(row["due"])

    async def mark_market_lookups_due(self) -> list[UUID]:
        """Marks poll-due this worker's market orders with no final word after their delay."""
        rows = await self._rows("SELECT m AS exchange_order_id FROM lth_pvr.mark_market_lookups_due(%s) m",
                                (self.worker_id,))
        return [r["exchange_order_id"] for r in rows]

    # -- safety net and cancels -----------------------------------------------------------------
    async def claim_due_polls(self, limit: int = 500, busy: set[UUID] | list[UUID] = ()) -> list[dict]:
        """Due look-ups, except those of accounts whose look-up is still running here (SQL leaves them
        unclaimed for the next tick)."""
        return await self._rows("SELECT * FROM lth_pvr.claim_due_polls(%s, %s, now(), %s)",
                                (self.worker_id, limit, list(busy)))

    async def record_poll(self, order_id: UUID, result: str, payload: dict | None = None,
                          error: str | None = None) -> dict | None:
        return await self._one(
            "SELECT * FROM lth_pvr.record_poll(%s, %s, %s, %s)",
            (order_id, result, jsonb(payload) if payload is not None else None, error),
        )

    async def claim_missing_fills(self, limit: int = 100) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.claim_missing_fills(%s)", (limit,))

    # -- the account ledger -------------------------------------------------------------------------
    async def claim_ledger_syncs(self, limit: int = 100, account_ids: list[UUID] | None = None) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.claim_ledger_syncs(%s, %s, %s)",
                                (self.worker_id, account_ids, limit))

    async def request_and_claim_ledger_sync(self, account_id: UUID) -> list[dict]:
        """request_ledger_sync and claim_ledger_syncs of one account in one transaction: the request's
        NOTIFY reaches the workers at the commit, when the claim is already ours (asked apart, a worker
        woken by the NOTIFY could claim and finish the sync first, and the request was then gone)."""
        async with self.pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SELECT lth_pvr.request_ledger_sync(%s)", (account_id,))
                cur = await conn.cursor(row_factory=dict_row).execute(
                    "SELECT * FROM lth_pvr.claim_ledger_syncs(%s, %s, 1)", (self.worker_id, [account_id]))
                return await cur.fetchall()

    async def request_ledger_sync(self, account_id: UUID) -> int:
        return (await self._one("SELECT lth_pvr.request_ledger_sync(%s) AS n", (account_id,)))["n"]

    async def record_transaction_page(self, account_id: UUID, items: list[dict], limit: int,
                                      before_id: str | None, source: str) -> dict:
        return await self._one("SELECT * FROM lth_pvr.record_transaction_page(%s, %s, %s, %s, %s)",
                               (account_id, jsonb(items), limit, before_id, source))

    async def record_balance_snapshot(self, account_id: UUID, items: list[dict]) -> int:
        return (await self._one("SELECT lth_pvr.record_balance_snapshot(%s, %s) AS n", (account_id, jsonb(items))))["n"]

    async def record_exchange_balances(self, account_id: UUID, source: str, balance: dict) -> int:
        """ccxt's unified balance of a ccxt account (fetch_balance 'rest', watch_balance 'ws')."""
        return (await self._one("SELECT lth_pvr.record_exchange_balances(%s, %s, %s) AS n",
                                (account_id, source, jsonb(balance))))["n"]

    async def record_exchange_transactions(self, account_id: UUID, source: str, entries: list[dict]) -> dict:
        return await self._one("SELECT * FROM lth_pvr.record_exchange_transactions(%s, %s, %s)",
                               (account_id, source, jsonb(entries)))

    async def record_exchange_ledger_synced(self, account_id: UUID, rescanned: bool) -> None:
        await self._rows("SELECT lth_pvr.record_exchange_ledger_synced(%s, %s)", (account_id, rescanned))

    async def claim_ledger_batch(self) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.claim_ledger_batch(%s)", (self.worker_id,))

    async def record_subaccount_window_page(self, account_ids: list[UUID], items: list[dict], limit: int, skip: int,
                                            start: datetime, end: datetime, source: str) -> dict:
        return await self._one("SELECT * FROM lth_pvr.record_subaccount_window_page(%s, %s, %s, %s, %s, %s, %s)",
                               (account_ids, jsonb(items), limit, skip, start, end, source))

    async def record_balances_all(self, items: list[dict], asked_at: datetime) -> int:
        """asked_at: when the request was sent (a balance the answer leaves out is zero since then)."""
        return (await self._one("SELECT lth_pvr.record_balances_all(%s, now(), %s) AS n",
                                (jsonb(items), asked_at)))["n"]

    async def record_ledger_batch_failed(self, account_ids: list[UUID], error: str, refused: bool) -> None:
        await self._rows("SELECT lth_pvr.record_ledger_batch_failed(%s, %s, %s, %s)",
                         (self.worker_id, account_ids, error[:500], refused))

    async def record_ledger_sync_failed(self, account_id: UUID, error: str) -> None:
        await self._rows("SELECT lth_pvr.record_ledger_sync_failed(%s, %s)", (account_id, error[:500]))

    # -- the ledger's audit ---------------------------------------------------------------------
    async def begin_audit_run(self, day: date | None, account_id: UUID | None) -> dict:
        return await self._one("SELECT * FROM lth_pvr.begin_audit_run(%s, %s, %s)", (day, account_id, self.worker_id))

    async def claim_ledger_audits(self) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.claim_ledger_audits(%s)", (self.worker_id,))

    async def audit_accounts(self, run_id: int) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.audit_accounts(%s)", (run_id,))

    async def compare_audit_run(self, run_id: int) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.compare_audit_run(%s)", (run_id,))

    async def resolve_matched_findings(self, run_id: int, how: str) -> int:
        return (await self._one("SELECT lth_pvr.resolve_matched_findings(%s, %s) AS n", (run_id, how)))["n"]

    async def finish_audit_run(self, run_id: int, error: str | None = None) -> dict:
        return await self._one("SELECT * FROM lth_pvr.finish_audit_run(%s, %s)", (run_id, error))

    async def audit_findings(self, run_id: int) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.audit_run_findings(%s)", (run_id,))

    async def claim_cancel_requests(self) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.claim_cancel_requests(%s)", (self.worker_id,))

    async def record_cancel_failed(self, order_id: UUID, detail: str) -> None:
        await self._rows("SELECT lth_pvr.record_cancel_failed(%s, 'system', %s)", (order_id, detail[:500]))

    # -- WebSocket sessions ---------------------------------------------------------------------
    async def session_open_within_budget(self, account_id: UUID, per_minute: int) -> dict:
        """{session_id, wait_seconds}: a session id when VALR's connection budget (shared by every
        worker on the key) has room, else how long to wait."""
        return await self._one("SELECT * FROM lth_pvr.session_open_within_budget(%s, %s, %s)",
                               (self.worker_id, account_id, per_minute))

    async def session_authenticated(self, session_id: int) -> list[dict]:
        return await self._rows("SELECT * FROM lth_pvr.session_authenticated(%s)", (session_id,))

    async def session_closed(self, session_id: int, reason: str, with_error: bool = False) -> None:
        await self._rows("SELECT lth_pvr.session_closed(%s, %s, %s)", (session_id, reason, with_error))

    async def orders_for_lookup(self, order_ids: list[UUID]) -> list[dict]:
        if not order_ids:
            return []
        return await self._rows("SELECT * FROM lth_pvr.orders_for_lookup(%s)", (list(order_ids),))
