"""Fault injection: silent stream, dropped / duplicated / reordered events, close after N events,
the WebSocket connect budget, and the admin API over HTTP (truth, counters, frames, manual matching)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from worker.lab.sim import SimConfig
from worker.lab.sim.testing import CREDS, collect, of_type, run_with_sim
from worker.valr import AccountSocket, AuthenticationError, ConnectionLost, RateLimited

SUB = "5150"


async def opened(sim, client, n=1, qty="0.01"):
    ids = []
    for i in range(n):
        placed = await client.place_limit_order(SUB, pair="BTCZAR", side="BUY", quantity=Decimal(qty),
                                                price=Decimal("1000000"), customer_order_id=f"f-{i}")
        ids.append(placed.id)
    await asyncio.sleep(0.02)
    return ids


async def settled(sock):
    await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))


def test_silent_stream_keeps_the_socket_but_delivers_nothing():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, SUB, ping_interval=0.05, pong_timeout=0.5) as sock:
            await settled(sock)
            await sim.set_faults(silent=True)
            (order_id,) = await opened(sim, client)
            sim.fill(order_id)
            with pytest.raises(asyncio.TimeoutError):
                await collect(sock, lambda ev: True, timeout=0.4)  # PINGs still answered: no ConnectionLost
            assert sim.truth()["orders"][0]["status"] == "Filled"
            await sim.set_faults(silent=False)
    run_with_sim(body)


def order_frames(events):
    """Without the BALANCE_UPDATEs and history records each fill also sends."""
    return [e for e in events if e.type not in ("BALANCE_UPDATE", "NEW_ACCOUNT_HISTORY_RECORD")]


def test_drop_duplicate_and_reorder():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, SUB) as sock:
            await settled(sock)
            await sim.set_faults(drop_fraction=1.0)
            (dropped,) = await opened(sim, client)
            await sim.set_faults(drop_fraction=0.0, duplicate_fraction=1.0)
            sim.fill(dropped, quantity="0.005")
            # Two copies of the list: the second supersedes the first when both wait to be taken.
            events = await collect(sock, lambda ev: len(of_type(ev, "BALANCE_UPDATE")) == 4)
            lists = 2 - sock.superseded_frames
            # The fill's history records follow its balances, in this read or the next: the ledger's
            # faults are tested in test_sim_ledger.py.
            assert [e.type for e in events if e.type != "NEW_ACCOUNT_HISTORY_RECORD"] == \
                ["NEW_ACCOUNT_TRADE"] * 2 + ["ORDER_STATUS_UPDATE"] * 2 + ["OPEN_ORDERS_UPDATE"] * lists + \
                ["BALANCE_UPDATE"] * 4
            assert events[0].data["id"] == events[1].data["id"]
            await sim.set_faults(reset=True, reorder=True)
            sim.fill(dropped)
            events = await collect(sock, lambda ev: len(order_frames(ev)) == 3)
            assert [e.type for e in order_frames(events)] == ["ORDER_STATUS_UPDATE", "NEW_ACCOUNT_TRADE",
                                                              "OPEN_ORDERS_UPDATE"]
    run_with_sim(body)


def test_close_after_n_events_and_reconnect():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, SUB) as sock:
            await settled(sock)
            await sim.set_faults(close_after_events=2)
            await opened(sim, client)
            with pytest.raises(ConnectionLost):
                await collect(sock, lambda ev: False, timeout=2)
        async with AccountSocket(sim.base_url, CREDS, SUB) as sock:  # a reconnect sees the open order
            events = await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
            assert len(of_type(events, "OPEN_ORDERS_UPDATE")[0].data) == 1
        assert sim.counters()["ws_connections"] == 2
    run_with_sim(body)


def test_websocket_connect_budget_refuses_the_handshake():
    async def body(sim, client):
        for _ in range(3):
            async with AccountSocket(sim.base_url, CREDS, SUB):
                pass
        # A 429 on the upgrade is VALR's connection budget, not a bad key: RateLimited, with a wait.
        with pytest.raises(RateLimited) as caught:
            async with AccountSocket(sim.base_url, CREDS, SUB):
                pass
        assert not isinstance(caught.value, AuthenticationError) and caught.value.retry_after > 0
        assert sim.counters()["ws_refused"] == 1
    run_with_sim(body, config=SimConfig(ws_connects_per_minute=3))


def test_admin_http_api_truth_counters_frames_and_manual_matching():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, SUB) as sock, httpx.AsyncClient(base_url=sim.base_url) as admin:
            await settled(sock)
            (order_id,) = await opened(sim, client, qty="0.02")
            fill = await admin.post("/_sim/fill", json={"customerOrderId": "f-0", "quantity": "0.005"})
            assert fill.status_code == 200 and fill.json()["quantity"] == "0.005"
            assert (await admin.post("/_sim/cancel", json={"orderId": order_id})).json() == {"cancelled": True}
            assert (await admin.post("/_sim/fail", json={"orderId": order_id})).status_code == 400
            assert (await admin.post("/_sim/fill", json={"orderId": "nope"})).status_code == 404
            await collect(sock, lambda ev: "Cancelled" in [e.data.get("orderStatusType") for e in
                                                         of_type(ev, "ORDER_STATUS_UPDATE")])
            truth = (await admin.get("/_sim/truth")).json()
            (order,) = truth["orders"]
            assert {k: order[k] for k in ("orderId", "customerOrderId", "subaccountId", "status", "filledQuantity")} \
                == {"orderId": order_id, "customerOrderId": "f-0", "subaccountId": SUB, "status": "Cancelled",
                    "filledQuantity": "0.005"}
            assert set(truth["trades"][0]) == {"id", "orderId", "customerOrderId", "subaccountId", "price",
                                               "quantity", "fee", "feeCurrency", "tradedAt"}
            counters = (await admin.get("/_sim/counters")).json()
            assert counters["rest"] == {"POST /v1/orders/limit": 1} and counters["rest_total"] == 1
            assert counters["ws_connections"] == 1 and counters["ws_frames_sent"] >= 14
            frames = (await admin.get("/_sim/frames")).json()
            trade_frame = next(f for f in frames if f["type"] == "NEW_ACCOUNT_TRADE")
            assert trade_frame["orderId"] == order_id and trade_frame["subaccountId"] == SUB
            assert trade_frame["sent_at"] > 0 and "id" in trade_frame
            faults = (await admin.post("/_sim/faults", json={"latency_ms": 5, "rest_error": {"status": 503, "count": 1}})).json()
            assert faults["latency_ms"] == 5 and faults["rest_error"]["status"] == 503
            assert (await admin.post("/_sim/faults", json={"bogus": 1})).status_code == 400
            reset = (await admin.post("/_sim/counters/reset")).json()
            assert reset["rest_total"] == 0 and reset["rest"] == {}
    run_with_sim(body, config=SimConfig(stamp_frames=True))
