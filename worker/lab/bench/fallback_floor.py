"""Figure 8's floor: the least a fallback's path can cost, measured the same way as the worker's
(simulator-side: frame sent → request received). A bare client on the worker's own transports
(TradeSocket, AccountSocket, ValrClient, psycopg) that makes one committed one-row SQL write per
decision and nothing else:

* price: a MARKET_SUMMARY_UPDATE at or above the armed ask → one write → the DELETEs (concurrently);
* its order's `Cancelled` ORDER_STATUS_UPDATE → one write → the market POST of the remainder;
* age: a timer at (202 received + after) → one write → the DELETE.

It trades on its own pair and subaccount, so the worker never sees its frames and it never sees the
worker's. Child process (its own interpreter, like the worker):
`python -m worker.lab.bench.fallback_floor DATABASE_URL SIM_URL SUBACCOUNT PAIR`, VALR_API_KEY /
VALR_API_SECRET from the environment. Commands on stdin, one JSON object a line; answers on stdout:
  {"price": n, "limit": "…", "ask_at_least": "…", "qty": "…"} → {"orders": [ids]} once placed and armed
  {"age": n, "limit": "…", "after": s, "gap": s, "qty": "…"}    → {"orders": [ids]} once all are placed
and then, for either, {"done": n} when the n market POSTs have been sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from decimal import Decimal

import psycopg

from worker.valr import Credentials, ValrClient
from worker.valr.trade_ws import MARKET_SUMMARY, TradeSocket
from worker.valr.ws import AccountSocket


class Floor:
    def __init__(self, url: str, sim_url: str, subaccount: str, pair: str) -> None:
        self.url, self.sim_url, self.subaccount, self.pair = url, sim_url, subaccount, pair
        self.credentials = Credentials(api_key=os.environ["VALR_API_KEY"], api_secret=os.environ["VALR_API_SECRET"])
        self.armed: tuple[Decimal, list[str]] | None = None   # (ask at least, orders to cancel)
        self.replace: dict[str, Decimal] = {}                  # order id → qty, until its Cancelled frame
        self.owed = 0                                          # market POSTs still to send this command

    async def run(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as self.db, \
                ValrClient(self.sim_url, self.credentials, requests_per_minute=1_000_000) as self.client, \
                TradeSocket(self.sim_url, self.credentials) as trade, \
                AccountSocket(self.sim_url, self.credentials, self.subaccount) as account:
            await self.db.execute("CREATE TABLE IF NOT EXISTS bench_fallback_floor "
                                  "(id bigserial PRIMARY KEY, what text NOT NULL, at timestamptz DEFAULT now())")
            await trade.subscribe([self.pair])
            await self.client.check_credentials()  # the connection is warm before anything is measured
            readers = [asyncio.create_task(self._prices(trade)), asyncio.create_task(self._account(account))]
            say({"ready": True})
            while line := await asyncio.to_thread(sys.stdin.readline):
                command = json.loads(line)
                if command.get("stop"):
                    break
                await self._command(command)
            for task in readers:
                task.cancel()

    async def _command(self, command: dict) -> None:
        qty = Decimal(command["qty"])
        if "price" in command:
            orders = [await self._place(qty, command["limit"]) for _ in range(command["price"])]
            self.owed = len(orders)
            self.armed = (Decimal(command["ask_at_least"]), orders)
            say({"orders": orders})
            return
        orders = []
        self.owed = command["age"]
        for _ in range(command["age"]):
            orders.append(await self._place(qty, command["limit"]))
            asyncio.get_running_loop().call_later(command["after"], self._due, orders[-1])
            await asyncio.sleep(command["gap"])
        say({"orders": orders})

    async def _place(self, qty: Decimal, limit: str) -> str:
        placed = await self.client.place_limit_order(self.subaccount, pair=self.pair, side="BUY", quantity=qty,
                                                     price=Decimal(limit), customer_order_id=str(uuid.uuid4()))
        self.replace[placed.id] = qty
        return placed.id

    async def _write(self, what: str) -> None:
        await self.db.execute("INSERT INTO bench_fallback_floor (what) VALUES (%s)", (what,))

    async def _cancel(self, order_ids: list[str]) -> None:
        await self._write("cancel")
        await asyncio.gather(*(self.client.cancel_order(self.subaccount, self.pair, order_id=o) for o in order_ids))

    def _due(self, order_id: str) -> None:
        asyncio.create_task(self._cancel([order_id]))

    async def _prices(self, trade: TradeSocket) -> None:
        async for batch in trade.batches():
            for frame in batch:
                if frame.type == MARKET_SUMMARY and self.armed and Decimal(frame.data["askPrice"]) >= self.armed[0]:
                    orders, self.armed = self.armed[1], None
                    await self._cancel(orders)

    async def _account(self, account: AccountSocket) -> None:
        async for batch in account.batches():
            for frame in batch:
                data = frame.data if isinstance(frame.data, dict) else {}
                if frame.type == "ORDER_STATUS_UPDATE" and data.get("orderStatusType") == "Cancelled" \
                        and data.get("orderId") in self.replace:
                    self.replace.pop(data["orderId"])
                    await self._write("replace")
                    await self.client.place_market_order(self.subaccount, pair=self.pair, side="BUY",
                                                         base_amount=Decimal(data["remainingQuantity"]),
                                                         customer_order_id=str(uuid.uuid4()))
                    self.owed -= 1
                    if self.owed == 0:
                        say({"done": True})


def say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    asyncio.run(Floor(*sys.argv[1:5]).run())


if __name__ == "__main__":
    main()
