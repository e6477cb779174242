"""The auto matching model: every path (fills in several trades, cancellations, expiries, failures)
is exercised, and the ground truth agrees with what the account socket delivered."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

from worker.lab.sim import SimConfig
from worker.lab.sim.testing import CREDS, collect, of_type, run_with_sim
from worker.valr import AccountSocket

TERMINAL = {"Filled", "Cancelled", "Expired", "Failed"}


def test_auto_mode_drives_every_order_to_an_end_through_every_path():
    config = SimConfig(mode="auto", fill_delay_s=0.01, fills_per_order=(1, 4), cancel_fraction=0.2,
                       expire_fraction=0.15, fail_fraction=0.15, seed=7)

    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, "77") as sock:
            await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
            for i in range(40):
                await client.place_limit_order("77", pair="ETHZAR", side="BUY" if i % 2 else "SELL",
                                               quantity=Decimal("0.5"), price=Decimal("40000"),
                                               customer_order_id=f"auto-{i}")

            def all_done(events):
                finals = {e.data["orderId"] for e in of_type(events, "ORDER_STATUS_UPDATE")
                          if e.data["orderStatusType"] in TERMINAL}
                return len(finals) == 40
            events = await collect(sock, all_done, timeout=10)
        truth = sim.truth()
        outcome = Counter(o["status"] for o in truth["orders"])
        assert set(outcome) == TERMINAL and sum(outcome.values()) == 40
        trades_by_order: dict[str, list[dict]] = {}
        for trade in truth["trades"]:
            trades_by_order.setdefault(trade["orderId"], []).append(trade)
        assert max(len(t) for t in trades_by_order.values()) > 1  # partial fills happen
        for order in truth["orders"]:
            filled = sum((Decimal(t["quantity"]) for t in trades_by_order.get(order["orderId"], [])), Decimal(0))
            assert filled == Decimal(order["filledQuantity"])
            assert (filled == Decimal(order["quantity"])) == (order["status"] == "Filled")
            assert order["history"][-1]["status"] == order["status"]
        # The socket delivered exactly the trades the exchange made, each once.
        delivered = [e.data["id"] for e in of_type(events, "NEW_ACCOUNT_TRADE")]
        assert sorted(delivered) == sorted(t["id"] for t in truth["trades"])
        processed = of_type(events, "ORDER_PROCESSED")
        assert sum(not e.data["success"] for e in processed) == outcome["Failed"]
    run_with_sim(body, config=config)


def test_manual_mode_fills_only_when_told():
    async def body(sim, client):
        placed = await client.place_limit_order("", pair="SOLZAR", side="BUY", quantity=Decimal("2"),
                                                price=Decimal("3000"), customer_order_id="manual-1")
        await asyncio.sleep(0.1)
        assert sim.truth()["orders"][0]["status"] == "Placed" and sim.truth()["trades"] == []
        trade = sim.fill(customer_order_id="manual-1", quantity="0.5", price="2990")
        assert trade["orderId"] == placed.id and trade["price"] == "2990" and trade["feeCurrency"] == "SOL"
        sim.expire(placed.id)
        order = sim.truth()["orders"][0]
        assert order["status"] == "Expired" and order["filledQuantity"] == "0.5"
        assert [h["status"] for h in order["history"]] == ["Placed", "Partially Filled", "Expired"]
    run_with_sim(body)
