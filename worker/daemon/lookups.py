"""REST lookups → SQL: the safety-net poll, reconciliation, placement resolution, fetching fills.

Nothing here decides an order's state. "Not found" and "could not ask" are recorded as what they are
(record_poll 'not_found' / 'error'); only VALR's positive word moves an order, and SQL decides how.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from worker.db.store import Store
from worker.logs import event
from worker.valr import OrderNotFound, RateLimited, TransportError, ValrClient, ValrError

log = logging.getLogger("worker.lookups")

# "Could not ask": the question did not get an answer — never evidence about the order.
COULD_NOT_ASK = (TransportError, RateLimited)

# Trades are looked up from a little before submission: clocks differ, and VALR stamps trades itself.
TRADE_WINDOW_SLACK = timedelta(minutes=2)


class Lookups:
    def __init__(self, client: ValrClient, store: Store) -> None:
        self.client = client
        self.store = store

    async def fetch_fills(self, order: dict, source: str = "poll") -> int:
        """Every trade of one order from the account's trade history, recorded idempotently."""
        since = order["submitted_at"] - TRADE_WINDOW_SLACK if order.get("submitted_at") else None
        trades = await self.client.order_trades(order["subaccount_id"], order["pair"], order["ext_order_id"],
                                                since=since)
        rows = await self.store.record_fills(order["exchange_account_id"], source, trades)
        return sum(1 for r in rows if r["outcome"] in ("recorded", "overfill"))

    async def look_up(self, order: dict) -> None:
        """One order no longer open (or due): its status and its fills, recorded as a poll."""
        try:
            status = await self.client.order_status(order["subaccount_id"], order["pair"],
                                                    order_id=order["ext_order_id"])
        except OrderNotFound as exc:
            await self.store.record_poll(order["exchange_order_id"], "not_found", error=str(exc))
            return
        except (*COULD_NOT_ASK, ValrError) as exc:
            await self.store.record_poll(order["exchange_order_id"], "error", error=str(exc))
            return
        try:
            await self.fetch_fills(order)
        except (*COULD_NOT_ASK, ValrError) as exc:  # status still counts; fills are re-checked later
            event(log, "trade history lookup failed", logging.WARNING, order=order["exchange_order_id"], error=str(exc))
        row = await self.store.record_poll(order["exchange_order_id"], "ok", status)
        event(log, "order polled", order=order["exchange_order_id"],
              status=(row or {}).get("new_status"), outcome=(row or {}).get("outcome"))

    async def poll_account(self, account_id: UUID, subaccount_id: str, orders: list[dict]) -> None:
        """Orders marked due (by the safety net's cron tick or by request_poll: the database does not say
        which) or owed a reconciliation, for one subaccount: one GET /v1/orders/open; orders still open
        need no further call; orders no longer open get a status lookup and their trades."""
        try:
            open_orders = await self.client.open_orders(subaccount_id)
        except (*COULD_NOT_ASK, ValrError) as exc:
            for order in orders:
                await self.store.record_poll(order["exchange_order_id"], "error", error=str(exc))
            event(log, "REST poll failed", logging.WARNING, subaccount=subaccount_id, orders=len(orders),
                  error=str(exc))
            return
        # VALR's open orders carry orderId; ccxt's unified orders, id
        listed = {item.get("orderId") or item.get("id"): item for item in open_orders if isinstance(item, dict)}
        still_open = 0
        for order in orders:
            item = listed.get(order["ext_order_id"])
            if item is not None:
                still_open += 1
                await self.store.record_poll(order["exchange_order_id"], "ok", item)
            else:
                await self.look_up(order)
        await self.fetch_missing_fills([o["exchange_order_id"] for o in orders])
        event(log, "orders polled over REST", subaccount=subaccount_id, orders=len(orders), still_open=still_open,
              reason=",".join(sorted({str(o.get("reason") or "poll") for o in orders})))

    async def reconcile_account(self, account_id: UUID, subaccount_id: str) -> None:
        """After a (re)connect: one GET /v1/orders/open, then a lookup only for our submitted orders
        missing from it (they finished while nobody watched)."""
        open_orders = await self.client.open_orders(subaccount_id)
        rows = await self.store.reconcile_open_orders(account_id, "poll", open_orders)
        missing = [r["exchange_order_id"] for r in rows if r["outcome"] == "missing"]
        listed = [r["exchange_order_id"] for r in rows if r["outcome"] != "missing" and r["exchange_order_id"]]
        for order in await self.store.orders_for_lookup(missing):
            await self.look_up(order)
        await self.fetch_missing_fills(listed)
        event(log, "subaccount reconciled", subaccount=subaccount_id, open=len(open_orders), missing=len(missing))

    async def look_up_missing(self, order_ids: list[UUID]) -> None:
        """Orders an OPEN_ORDERS_UPDATE no longer lists: look each up."""
        for order in await self.store.orders_for_lookup(order_ids):
            await self.look_up(order)

    async def fetch_missing_fills(self, order_ids: list[UUID]) -> None:
        """Orders whose VALR-executed quantity exceeds the fills we hold: fetch their trades."""
        if not order_ids:
            return
        for order in await self.store.orders_for_lookup(order_ids):
            if order["fills_missing"]:
                try:
                    found = await self.fetch_fills(order)
                    event(log, "missing fills fetched", order=order["exchange_order_id"], fills=found)
                except (*COULD_NOT_ASK, ValrError) as exc:
                    event(log, "fetching missing fills failed", logging.WARNING,
                          order=order["exchange_order_id"], error=str(exc))

    async def resolve_placement(self, order: dict) -> None:
        """A placement whose answer was lost: look it up by customerOrderId — never send it again from here.
        SQL decides what VALR's "not found" means (record_placement_not_found): within the grace
        nothing, after it the order goes back to pending to be placed again, at last failed."""
        try:
            status = await self.client.order_status(order["subaccount_id"], order["pair"],
                                                    customer_order_id=str(order["customer_order_id"]))
        except OrderNotFound:
            row = await self.store.record_placement_not_found(order["exchange_order_id"])
            event(log, "lost placement not found on VALR", order=order["exchange_order_id"],
                  status=(row or {}).get("status"))
            return
        except (*COULD_NOT_ASK, ValrError) as exc:
            event(log, "lost placement lookup failed; will retry", logging.WARNING,
                  order=order["exchange_order_id"], error=str(exc))
            return
        rows = await self.store.record_order_update(order["exchange_account_id"], "placement", status)
        event(log, "lost placement resolved", order=order["exchange_order_id"],
              status=rows[0]["new_status"] if rows else None)
        await self.fetch_missing_fills([order["exchange_order_id"]])

    async def cancel(self, order: dict) -> None:
        """DELETE /v1/orders/order; the status moves only when VALR says so (WebSocket or poll). A failed
        attempt is recorded; SQL sends the cancel again until VALR's word finishes the order."""
        order_id = order["exchange_order_id"]
        try:
            await self.client.cancel_order(order["subaccount_id"], order["pair"], order_id=order["ext_order_id"])
            event(log, "cancel sent", order=order_id)
        except OrderNotFound as exc:
            event(log, "cancel: VALR does not know the order; looking it up", order=order_id)
            await self.store.record_cancel_failed(order_id, f"VALR does not know the order: {exc}")
            for row in await self.store.orders_for_lookup([order_id]):
                await self.look_up(row)
        except (*COULD_NOT_ASK, ValrError) as exc:
            event(log, "cancel failed; it will be sent again", logging.WARNING, order=order_id, error=str(exc))
            await self.store.record_cancel_failed(order_id, f"DELETE failed: {exc}")
