"""Refresh lth_pvr.pairs from VALR: fetch GET /v1/public/pairs and /v1/public/ordertypes, hand both to
lth_pvr.refresh_pairs (which decides what changes), and read the rules back for the client's last
look before it sends an order. I/O only."""

from __future__ import annotations

import logging

from worker.db.store import Store
from worker.logs import event
from worker.valr import PairTable, RateLimited, TransportError, ValrClient, ValrError

log = logging.getLogger("worker.pairs")


async def refresh_pairs(client: ValrClient, store: Store) -> dict:
    """One refresh. The pair list is required (errors propagate); the order types are optional (kept as
    they were when VALR cannot give them now)."""
    pairs = await client.public_pairs()
    try:
        order_types = await client.public_order_types()
    except (ValrError, TransportError, RateLimited) as exc:
        event(log, "VALR's order types unavailable; keeping those held", logging.WARNING, error=str(exc)[:200])
        order_types = None
    result = await store.refresh_pairs(pairs, order_types)
    event(log, "pair rules refreshed from VALR", **(result or {}))
    return result or {}


async def load_rules(client: ValrClient, store: Store) -> None:
    """The client's precision rules, from the database."""
    client.pairs = PairTable.from_rows(await store.pair_rules())
