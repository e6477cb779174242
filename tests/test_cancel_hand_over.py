"""The fallback's first leg without a hop: the statement that records the price (or the due time) that
fires a fallback also claims its cancel for the worker that made the call (hand_over_cancels with
record_market_prices / request_due_fallbacks, worker/db/store.py), so the DELETE leaves right after the
commit. The cancel guarantees stay: claimed like any claim (leased accounts only, once, stamped), the
status moves only on VALR's word, and a cancel handed over but never sent is sent again when due."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from psycopg.types.json import Jsonb

from tests.support.inprocess import worker_io
from tests.support.sql import at, fallback_order, lease, make_account, order, rows, scalar

QUERY = """WITH f AS MATERIALIZED (SELECT * FROM lth_pvr.record_market_prices(%s, 'ws', %s))
           SELECT f.exchange_order_id, lth_pvr.hand_over_cancels(%s, (SELECT array_agg(exchange_order_id) FROM f), %s) AS c
             FROM f"""


def price_frame(ask: str, now) -> dict:
    return {"type": "MARKET_SUMMARY_UPDATE", "currencyPairSymbol": "BTCZAR",
            "data": {"currencyPair": "BTCZAR", "bidPrice": "1", "askPrice": ask,
                     "created": now.isoformat().replace("+00:00", "Z")}}


def record_and_hand_over(conn, worker: str, ask: str, now) -> tuple[list, list]:
    """What the worker's record_market_prices call does: both in one statement, one transaction."""
    found = rows(conn, QUERY, (Jsonb([price_frame(ask, now)]), now, worker, now))
    return [r["exchange_order_id"] for r in found], (found[0]["c"] if found else [])


def test_the_cancel_a_price_fires_is_claimed_and_stamped_in_the_recording_transaction(postgresql):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, price="1000000", move="0.01")
    fired, [cancel] = record_and_hand_over(postgresql, "w1", "1020000", at(minutes=1))
    assert fired == [order_id]
    assert (cancel["exchange_order_id"], cancel["ext_order_id"], cancel["pair"]) == (str(order_id), ext, "BTCZAR")
    row = order(postgresql, order_id)
    # As claim_cancel_requests leaves it, in the transaction that requested it: one attempt, stamped.
    assert row["cancel_requested_at"] == row["cancel_sent_at"] == at(minutes=1)
    assert (row["status"], row["cancel_attempts"]) == ("submitted", 1)  # the status waits for VALR's word
    # Nothing left for the usual claim until the attempt is due again; then it is sent again.
    assert rows(postgresql, "SELECT * FROM lth_pvr.claim_cancel_requests('w1', p_now => %s)",
                (at(minutes=1, seconds=1),)) == []
    retry = scalar(postgresql, "SELECT lth_pvr.setting('cancel_retry_seconds')")
    again = rows(postgresql, "SELECT * FROM lth_pvr.claim_cancel_requests('w1', p_now => %s)",
                 (at(minutes=1, seconds=int(retry) + 1),))
    assert [r["exchange_order_id"] for r in again] == [order_id]


def test_a_worker_not_leasing_the_account_is_handed_nothing(postgresql):
    account = make_account(postgresql)
    order_id, _ = fallback_order(postgresql, account, price="1000000", move="0.01")
    lease(postgresql, "w2")  # alive, but the account is w1's
    fired, cancels = record_and_hand_over(postgresql, "w2", "1020000", at(minutes=1))
    assert (fired, cancels) == ([order_id], [])
    row = order(postgresql, order_id)
    assert row["cancel_requested_at"] is not None and row["cancel_sent_at"] is None  # owed, for w1's claim


def test_nothing_fired_hands_over_nothing_not_every_cancel_owed(postgresql):
    account = make_account(postgresql)
    owed, _ = fallback_order(postgresql, account, price="1000000")
    postgresql.execute("SELECT lth_pvr.request_cancel(%s, %s)", (owed, at(seconds=30)))
    for fired in (None, []):
        assert scalar(postgresql, "SELECT lth_pvr.hand_over_cancels('w1', %s, %s)", (fired, at(minutes=1))) == []
    assert order(postgresql, owed)["cancel_sent_at"] is None


def test_the_workers_call_returns_the_fired_orders_and_their_cancels(orders, worker_url):
    """worker/db/store.py: one statement, the fired rows as before plus the cancels handed over, typed."""
    account = orders.account("")
    order_id, _ = orders.insert(account, price="1000000", fallback_price_move="0.01",
                                fallback_price_confirm_ms=0)

    async def scenario():
        async with worker_io(worker_url, "http://127.0.0.1:9") as (store, _):
            await store.acquire_leases(60)
            await store.claim_pending_orders([account])
            await store.record_placement(order_id, "valr-1")
            quiet = await store.record_market_prices([price_frame("1000000", datetime.now(timezone.utc))], "ws")
            fired = await store.record_market_prices([price_frame("1020000", datetime.now(timezone.utc))], "ws")
            return quiet, fired

    (quiet_rows, quiet_cancels), (rows_, cancels) = asyncio.run(scenario())
    assert (quiet_rows, quiet_cancels) == ([], [])
    assert [r["exchange_order_id"] for r in rows_] == [order_id] and "cancels" not in rows_[0]
    assert [(c["exchange_order_id"], c["ext_order_id"]) for c in cancels] == [(order_id, "valr-1")]
