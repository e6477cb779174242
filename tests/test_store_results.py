"""worker/db/store.py's result handling on the fill's path: a recording call's rows come back as before,
and the hand-over the statement made once (hand_over_replacements' JSON, repeated on each of its rows)
is parsed once per call — psycopg's jsonb loader parsed it again on every row (figure 2: a call of 240
frames returns 240 rows; ~0.5 ms of the worker's CPU a call)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from decimal import Decimal

from psycopg.types.json import set_json_loads

from tests.support.inprocess import worker_io
from tests.support.sql import cancelled, fallback_order, fire_age, lease, make_account, open_session

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
    assert len(rows) == len(frames) and "placements" not in rows[0]
    assert (rows[0]["outcome"], rows[0]["new_status"], rows[0]["final"]) == ("applied", "cancelled", True)
    assert {r["outcome"] for r in rows[1:]} == {"unchanged"}
    [placement] = placements  # the replacement, typed as the runner's claims are
    assert placement["order_type"] == "market" and placement["qty"] == Decimal("0.001")
    assert placement["exchange_order_id"] == placement["customer_order_id"]
    assert len(parsed) == 1

