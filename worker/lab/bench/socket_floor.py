"""Figure 1's socket floor: the least a recorder fed by VALR's account socket can cost, measured the same
way as the worker (frame sent by the simulator → NOTIFY observed). A bare client on the worker's own
transport (AccountSocket: the same reader, frame queue and batching) that commits each read the way the
worker cuts it into calls (session.commits_of) with one one-row INSERT + NOTIFY, and records nothing else.

Beside figure 1's commit floor (a one-row INSERT + NOTIFY from the bench itself), it says how much of our
time is the socket hop and the reader, which no recording work can remove: its commit carries no fill.

Child process (its own interpreter, like the worker), on its own simulator:
`python -m worker.lab.bench.socket_floor DATABASE_URL SIM_URL SUBACCOUNT PAIR PRICE`, VALR_API_KEY /
VALR_API_SECRET from the environment. Places one limit BUY of 1 on PAIR at PRICE, answers {"order": id}
on stdout, then records every read until a line arrives on stdin. Its NOTIFY on `bench_socket_floor` has
lth_pvr_recorded's shape ({"session": 0, "frames": n, "last": id}), so the bench matches it to the frames
the same way (latency.match_commits).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from decimal import Decimal

import psycopg

from worker.daemon.session import commits_of
from worker.valr import Credentials, ValrClient
from worker.valr.ws import AccountSocket

CHANNEL = "bench_socket_floor"  # also its table's name


def last_key(frames: list[dict]) -> str | None:
    """What record_batch's NOTIFY names as `last`: a trade's id, else the frame's orderId."""
    last = frames[-1] if frames else None
    data = last.get("data") if isinstance(last, dict) else None
    if not isinstance(data, dict):
        return None
    return data.get("id") if last.get("type") == "NEW_ACCOUNT_TRADE" else data.get("orderId")


async def record(db: psycopg.AsyncConnection, account: AccountSocket) -> None:
    async for batch in account.batches():
        for frames, superseded in commits_of(batch):
            note = json.dumps({"session": 0, "frames": len(frames) + superseded, "last": last_key(frames)})
            await db.execute("WITH i AS (INSERT INTO bench_socket_floor (frames) VALUES (%s) RETURNING id) "
                             "SELECT pg_notify(%s, %s) FROM i", (len(frames), CHANNEL, note))


async def run(url: str, sim_url: str, subaccount: str, pair: str, price: str) -> None:
    credentials = Credentials(api_key=os.environ["VALR_API_KEY"], api_secret=os.environ["VALR_API_SECRET"])
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db, \
            ValrClient(sim_url, credentials, requests_per_minute=1_000_000) as client, \
            AccountSocket(sim_url, credentials, subaccount) as account:
        await db.execute("CREATE TABLE IF NOT EXISTS bench_socket_floor "
                         "(id bigserial PRIMARY KEY, frames int NOT NULL, at timestamptz NOT NULL DEFAULT now())")
        reader = asyncio.create_task(record(db, account))
        placed = await client.place_limit_order(subaccount, pair=pair, side="BUY", quantity=Decimal(1),
                                                price=Decimal(price), customer_order_id=str(uuid.uuid4()))
        sys.stdout.write(json.dumps({"order": placed.id}) + "\n")
        sys.stdout.flush()
        await asyncio.to_thread(sys.stdin.readline)
        reader.cancel()


def main() -> None:
    asyncio.run(run(*sys.argv[1:6]))


if __name__ == "__main__":
    main()
