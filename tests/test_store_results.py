"""worker/db/store.py's result handling on the fill's path: a recording call returns only the rows the
session follows up (an order missing from the open list, an order finished) — a call of 240 frames
returned 240 rows that the worker turned into dicts to drop — and the hand-over the statement made once
(hand_over_replacements' JSON, repeated on each of its rows) is parsed once per call: psycopg's jsonb
loader parsed it again on every row (~0.5 ms of the worker's CPU for a call of 240 frames)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from decimal import Decimal

from psycopg.types.json import set_json_loads

from tests.support.inprocess import worker_io
from tests.support.sql import (
    cancelled, fallback_order, fire_age, lease, make_account, open_session, replacement, update,
)

JSON_LOADS = json.loads  # psycopg's default, restored after


def test_a_recording_call_of_many_rows_parses_the_hand_over_once(postgresql, worker_url, monkeypatch):
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    session = open_session(postgresql, account)
    lease(postgresql, "w1", now=datetime.now(timezone.utc))  # the session's worker may place now
    postgresql.commit()  # (the worker's connections wait for no lock of this set-up)
    frames = [{"type": "ORDER_STATUS_UPDATE", "data": cancelled(ext, remaining="0.001")} for _ in range(20)]
    parsed: list[str] = []

    def counting_loads(text):
        parsed.append(text)
        return JSON_LOADS(text)

    async def record() -> tuple[list[dict], list[dict]]:
        async with worker_io(worker_url, "http://127.0.0.1:9") as (store, _):
            parsed.clear()  # (the pool's own calls before)
            return await store.record_batch(session, frames)

    set_json_loads(counting_loads)  # psycopg's jsonb loader, for the connections opened from here on
    monkeypatch.setattr(json, "loads", counting_loads)  # and a parse of the text in the worker
    try:
        rows, placements = asyncio.run(record())
    finally:
        set_json_loads(JSON_LOADS)
    [row] = rows  # the 19 `unchanged` frames are recorded, not returned
    assert "placements" not in row
    assert (row["outcome"], row["new_status"], row["final"]) == ("applied", "cancelled", True)
    assert postgresql.execute("SELECT count(*) FROM lth_pvr.order_events WHERE exchange_order_id = %s "
                              "AND outcome = 'unchanged'", (order_id,)).fetchone()[0] == len(frames) - 1
    [placement] = placements  # the replacement, typed as the runner's claims are
    assert placement["order_type"] == "market" and placement["qty"] == Decimal("0.001")
    assert placement["exchange_order_id"] == placement["customer_order_id"]
    assert len(parsed) == 1




def test_a_hand_over_comes_back_when_no_row_needs_a_follow_up(postgresql, worker_url):
    """VALR's word on the original came by REST first (no hand-over there: its replacement waits pending);
    the socket's repeat of it is `unchanged`, a row the session does not follow up — and still carries
    the replacement, handed over in its transaction."""
    account = make_account(postgresql)
    order_id, ext = fallback_order(postgresql, account, after="5 minutes")
    fire_age(postgresql, order_id)
    update(postgresql, account, cancelled(ext, remaining="0.001"), source="poll")
    assert replacement(postgresql, order_id)["status"] == "pending"
    session = open_session(postgresql, account)
    lease(postgresql, "w1", now=datetime.now(timezone.utc))
    postgresql.commit()
    frames = [{"type": "ORDER_STATUS_UPDATE", "data": cancelled(ext, remaining="0.001")}]

    async def record() -> tuple[list[dict], list[dict]]:
        async with worker_io(worker_url, "http://127.0.0.1:9") as (store, _):
            return await store.record_batch(session, frames)

    rows, placements = asyncio.run(record())
    assert rows == []
    assert [p["exchange_order_id"] for p in placements] == [replacement(postgresql, order_id)["exchange_order_id"]]
