"""The simulator in a background thread with its own event loop, for synchronous tests and for the
demo/bench running it in-process: `with SimulatorThread(key, secret) as sim: sim.base_url`."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any, Awaitable, Callable

from worker.lab.sim.config import SimConfig
from worker.lab.sim.server import Simulator


class SimulatorThread:
    def __init__(self, api_key: str, api_secret: str, *, config: SimConfig | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = Simulator(api_key, api_secret, config=config)
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.base_url = ""

    def __repr__(self) -> str:
        return f"SimulatorThread({self.base_url or 'not started'})"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name="valr-sim", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if not self.base_url:
            raise RuntimeError("the simulator did not start within 10 s")
        return self.base_url

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self.base_url = loop.run_until_complete(self.sim.start(self._host, self._port))
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self.sim.stop())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "SimulatorThread":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the Simulator's admin methods, run on its loop ----------------------------------------

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run fn (sync or async) on the simulator's loop and return its result."""
        async def run() -> Any:
            result = fn(*args, **kwargs)
            return await result if isinstance(result, Awaitable) else result
        assert self._loop is not None, "not started"
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def truth(self) -> dict:
        return self.call(self.sim.truth)

    def counters(self) -> dict:
        return self.call(self.sim.counters)

    def reset_counters(self) -> dict:
        return self.call(self.sim.reset_counters)

    def frames(self) -> list[dict]:
        return self.call(self.sim.frames)

    def trade_frames(self) -> list[dict]:
        return self.call(self.sim.trade_frames)

    def requests(self) -> list[dict]:
        return self.call(self.sim.requests)

    def market(self, pair: str, **changes: Any) -> dict:
        return self.call(self.sim.set_market, pair, **changes)

    def fill(self, order_id: str | None = None, customer_order_id: str | None = None, *,
             quantity: Decimal | str | None = None, price: Decimal | str | None = None,
             subaccount_id: str | None = None) -> dict:
        return self.call(self.sim.fill, order_id, customer_order_id, quantity=quantity, price=price,
                         subaccount_id=subaccount_id)

    def cancel(self, order_id: str | None = None, customer_order_id: str | None = None, *,
               subaccount_id: str | None = None) -> bool:
        return self.call(self.sim.cancel, order_id, customer_order_id, subaccount_id=subaccount_id)

    def expire(self, order_id: str | None = None, customer_order_id: str | None = None, *,
               subaccount_id: str | None = None) -> None:
        self.call(self.sim.expire, order_id, customer_order_id, subaccount_id=subaccount_id)

    def fail(self, order_id: str | None = None, customer_order_id: str | None = None, *,
             reason: str = "Order failed", subaccount_id: str | None = None) -> None:
        self.call(self.sim.fail, order_id, customer_order_id, reason=reason, subaccount_id=subaccount_id)

    def set_faults(self, **changes: Any) -> dict:
        return self.call(self.sim.set_faults, **changes)

    # ---- the account ledger -----------------------------------------------------------------------

    def deposit(self, subaccount_id: str, currency: str, amount: Decimal | str, **options: Any) -> dict:
        """Fiat (credited now) or `kind="crypto"` (confirmations, then the credit); see Simulator.deposit."""
        return self.call(self.sim.deposit, subaccount_id, currency, str(amount), **options)

    def withdraw(self, subaccount_id: str, currency: str, amount: Decimal | str, fee: Decimal | str = "0",
                 kind: str = "crypto") -> dict:
        return self.call(self.sim.withdraw, subaccount_id, currency, str(amount), str(fee), kind)

    def transfer(self, from_id: str, to_id: str, currency: str, amount: Decimal | str) -> dict:
        return self.call(self.sim.transfer_funds, from_id, to_id, currency, str(amount))

    def ledger(self, subaccount_id: str = "") -> dict:
        """Every transaction of the (sub)account, oldest first, and its pending crypto deposits."""
        return self.call(self.sim.exchange.ledger.truth, subaccount_id)

    def balances(self, subaccount_id: str = "") -> dict:
        """The (sub)account's balances: {currency: {total, reserved, available}}."""
        return self.call(self.sim.exchange.balances.truth, subaccount_id)
