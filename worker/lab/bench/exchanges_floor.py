"""Figure 12's fallback floor: the least an exchange's fallback path can cost, timed as the worker's is
(double-side: due → cancel request received; cancelled event sent → market POST received). A bare client
on the worker's own transports (the CcxtAdapter: ccxt's REST and its watch_orders, psycopg) that makes one
committed one-row SQL write per decision and nothing else:

* age: a timer at (placement answered + after) → one write → cancel_order;
* its order's cancelled word in watch_orders → one write → the market order of what did not execute.

It trades on its own account of the same double (its own key), so the worker never sees its orders.
Child process: `python -m worker.lab.bench.exchanges_floor DATABASE_URL EXCHANGE SYMBOL`, the account's
`<EXCHANGE>_BASE_URL`, `_API_KEY`, `_API_SECRET` from the environment. Commands on stdin, one JSON object
a line; answers on stdout:
  {"place": "qty", "limit": "price", "after": s} → {"id": order id, "due": wall time}
  and, once its market order is sent, {"done": order id}.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from decimal import Decimal

import psycopg

from worker.config import rate_limit_ms
from worker.exchanges.ccxt_adapter import CcxtAdapter
from worker.exchanges.credentials import ExchangeCredentials

ENDED = ("canceled", "expired")


class Floor:
    def __init__(self, url: str, exchange: str, symbol: str) -> None:
        ref = exchange.upper()
        self.url, self.symbol = url, symbol
        self.adapter = CcxtAdapter(exchange, ExchangeCredentials(
            api_key=os.environ[f"{ref}_API_KEY"], api_secret=os.environ[f"{ref}_API_SECRET"]),
            os.environ[f"{ref}_BASE_URL"],
            rate_limit_ms(f"{ref}_RATE_LIMIT_MS", os.environ.get(f"{ref}_RATE_LIMIT_MS")))
        self.replace: dict[str, Decimal] = {}  # order id → its quantity, until its cancelled word

    async def run(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as self.db:
            # bench_exchange_floor: created by the bench before it starts the floors (exchanges.py)
            await self.adapter.ccxt.load_markets()
            orders = asyncio.create_task(self._orders(self.adapter.account_reads()[0]))
            while not self.adapter.stream_up():
                await asyncio.sleep(0.02)
            say({"ready": True})
            while line := await asyncio.to_thread(sys.stdin.readline):
                command = json.loads(line)
                if command.get("stop"):
                    break
                await self._place(Decimal(command["place"]), Decimal(command["limit"]), float(command["after"]))
            orders.cancel()
            await self.adapter.aclose()

    async def _place(self, qty: Decimal, limit: Decimal, after: float) -> None:
        placed = await self.adapter.place_limit_order("", pair=self.symbol, side="BUY", quantity=qty, price=limit,
                                                      customer_order_id=str(uuid.uuid4()))
        self.replace[placed.id] = qty
        due = time.time() + after
        asyncio.get_running_loop().call_later(after, lambda: asyncio.ensure_future(self._cancel(placed.id)))
        say({"id": placed.id, "due": due})

    async def _write(self, what: str) -> None:
        await self.db.execute("INSERT INTO bench_exchange_floor (what) VALUES (%s)", (what,))

    async def _cancel(self, order_id: str) -> None:
        await self._write("cancel")
        await self.adapter.cancel_order("", self.symbol, order_id=order_id)

    async def _orders(self, reads) -> None:
        async for orders, _ in reads:
            for order in orders:
                order_id = str(order.get("id"))
                if order.get("status") in ENDED and order_id in self.replace:
                    qty = self.replace.pop(order_id)
                    await self._write("replace")
                    # What did not execute, as far as this read says (a floor: the quantity is not its subject)
                    left = qty - Decimal(str(order.get("filled") or 0))
                    await self.adapter.place_market_order("", pair=self.symbol, side="BUY", base_amount=left,
                                                          customer_order_id=str(uuid.uuid4()))
                    say({"done": order_id})


def say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    asyncio.run(Floor(*sys.argv[1:4]).run())


if __name__ == "__main__":
    main()
