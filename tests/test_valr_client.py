"""The REST client against the simulator over real loopback sockets: every call the worker makes,
and every error class kept apart (VALR said no / could not ask / answer lost)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from worker.lab.sim import SimConfig
from worker.lab.sim.pairs import SPOT_ORDER_TYPES
from worker.lab.sim.testing import CREDS, KEY, SECRET, run_with_sim
from worker.valr import (
    AuthenticationError, ClockSkewError, Credentials, OrderNotFound, PairTable, PlacementAnswerLost, PrecisionError,
    RateLimited, TransportError, ValrClient, ValrError,
)
from worker.valr.signing import auth_headers

SUB = "1111"


async def place(client, cid, qty="0.01", price="1000000", sub=SUB, pair="BTCZAR", **kw):
    return await client.place_limit_order(sub, pair=pair, side="BUY", quantity=Decimal(qty),
                                          price=Decimal(price), customer_order_id=cid, **kw)


def test_place_status_history_open_orders_cancel():
    async def body(sim, client):
        placed = await place(client, "intent-1", post_only=True)
        assert placed.customer_order_id == "intent-1" and len(placed.id) == 36
        await asyncio.sleep(0.02)  # placement is processed asynchronously after the 202
        by_id = await client.order_status(SUB, "BTCZAR", order_id=placed.id)
        by_cid = await client.order_status(SUB, "BTCZAR", customer_order_id="intent-1")
        assert by_id == by_cid
        assert by_id["orderStatusType"] == "Placed" and by_id["orderSide"] == "buy"
        assert by_id["orderType"] == "post-only limit" and by_id["originalQuantity"] == "0.01"
        assert isinstance(by_id["originalPrice"], str)
        sim.fill(placed.id, quantity="0.004")
        opened = await client.open_orders(SUB)
        assert [(o["orderId"], o["status"], o["remainingQuantity"]) for o in opened] == \
            [(placed.id, "Partially Filled", "0.006")]
        await client.cancel_order(SUB, "BTCZAR", order_id=placed.id)
        await asyncio.sleep(0.02)
        assert (await client.order_status(SUB, "BTCZAR", order_id=placed.id))["orderStatusType"] == "Cancelled"
        history = await client.order_history_detail(SUB, placed.id)
        assert [h["orderStatusType"] for h in history] == ["Cancelled", "Partially Filled", "Placed"]
        assert history[1]["executedQuantity"] == "0.004"
        assert await client.open_orders(SUB) == []
        assert client.requests_sent["POST /v1/orders/limit"] == 1
        assert sim.counters()["rest"]["GET /v1/orders/{pair}/orderid/{id}"] == 2
    run_with_sim(body)


def test_cancel_by_customer_order_id_and_primary_account():
    async def body(sim, client):
        placed = await place(client, "primary-1", sub="")
        await asyncio.sleep(0.02)
        await client.cancel_order("", "BTCZAR", customer_order_id="primary-1")
        await asyncio.sleep(0.02)
        assert (await client.order_status("", "BTCZAR", order_id=placed.id))["orderStatusType"] == "Cancelled"
        assert sim.truth()["orders"][0]["subaccountId"] == ""
    run_with_sim(body)


def test_order_trades_pages_through_account_history_and_filters_by_order():
    async def body(sim, client):
        since = datetime.now(timezone.utc) - timedelta(seconds=1)
        mine = await place(client, "mine", qty="1")
        other = await place(client, "other", qty="1")
        await asyncio.sleep(0.02)
        for i in range(150):  # interleaved with another order's fills: 230 trades, three pages
            sim.fill(mine.id, quantity="0.001", price=str(1000000 + i))
            if i < 80:
                sim.fill(other.id, quantity="0.001")
        trades = await client.order_trades(SUB, "BTCZAR", mine.id, since=since)
        assert len(trades) == 150 and {t["orderId"] for t in trades} == {mine.id}
        assert [t["price"] for t in trades] == [str(1000000 + i) for i in range(150)]  # oldest first
        assert len({t["id"] for t in trades}) == 150
        assert all(isinstance(t["sequenceId"], int) and t["sequenceId"] > 2**53 for t in trades)
        assert sum(Decimal(t["quantity"]) for t in trades) == Decimal("0.150")
        assert client.requests_sent["GET /v1/account/tradehistory"] == 3
        later = await client.order_trades(SUB, "BTCZAR", mine.id, since=datetime.now(timezone.utc) + timedelta(seconds=5))
        assert later == []
    run_with_sim(body)


def test_precision_is_checked_before_sending():
    async def body(sim, client):
        # The rules as lth_pvr.pair_rules() gives them (the worker loads them from the database).
        client.pairs = PairTable.from_rows([{"pair": "BTCZAR", "base_decimal_places": 8, "tick_size": Decimal("1")}])
        with pytest.raises(PrecisionError, match="8 decimal places"):
            await place(client, "p1", qty="0.000000001")
        with pytest.raises(PrecisionError, match="tick size 1"):
            await place(client, "p2", price="1000000.5")
        assert sum(client.requests_sent.values()) == 0 and sim.counters()["rest_total"] == 0
        pairs, order_types = await client.public_pairs(), await client.public_order_types()
        usdt = next(p for p in pairs if p["symbol"] == "USDTZAR")
        assert usdt["tickSize"] == "0.001" and isinstance(usdt["baseDecimalPlaces"], str)
        assert {"currencyPair": "BTCZAR", "orderTypes": SPOT_ORDER_TYPES} in order_types
    run_with_sim(body)


def test_unknown_order_is_order_not_found_not_transport():
    async def body(sim, client):
        for kwargs in ({"order_id": "0198175e-53b0-7c4b-ac26-b18a8a687e59"}, {"customer_order_id": "nope"}):
            with pytest.raises(OrderNotFound) as caught:
                await client.order_status(SUB, "BTCZAR", **kwargs)
            assert caught.value.status == 400 and caught.value.code == -1
            assert caught.value.message == "Invalid Order. "
            assert not isinstance(caught.value, TransportError)
        placed = await place(client, "sub-a-order")
        await asyncio.sleep(0.02)
        with pytest.raises(OrderNotFound):  # another subaccount's book does not know it
            await client.order_status("2222", "BTCZAR", order_id=placed.id)
        assert await client.order_history_detail("2222", placed.id) == []
    run_with_sim(body)


def test_duplicate_customer_order_id_among_open_orders_fails_the_second_order():
    async def body(sim, client):
        first = await place(client, "dup-1")
        second = await place(client, "dup-1")  # VALR still answers 202: the failure comes later
        await asyncio.sleep(0.02)
        failed = await client.order_status(SUB, "BTCZAR", order_id=second.id)
        assert failed["orderStatusType"] == "Failed" and "customerOrderId" in failed["failedReason"]
        assert (await client.order_status(SUB, "BTCZAR", customer_order_id="dup-1"))["orderId"] == first.id
        sim.fill(first.id)
        third = await place(client, "dup-1")  # reusable once no open order holds it
        await asyncio.sleep(0.02)
        assert (await client.order_status(SUB, "BTCZAR", order_id=third.id))["orderStatusType"] == "Placed"
    run_with_sim(body)


def test_bad_signature_and_unknown_key_are_authentication_errors():
    async def body(sim, client):
        async with ValrClient(sim.base_url, Credentials(KEY, "wrong-secret")) as bad:
            with pytest.raises(AuthenticationError) as caught:
                await bad.open_orders(SUB)
            assert caught.value.status == 401 and "signature" in caught.value.message
            assert "wrong-secret" not in str(caught.value)
        async with ValrClient(sim.base_url, Credentials("unknown", SECRET)) as bad:
            with pytest.raises(AuthenticationError):
                await bad.open_orders(SUB)
    run_with_sim(body)


def test_replayed_request_and_missing_content_type_and_malformed_body_are_refused():
    async def body(sim, client):
        async with httpx.AsyncClient(base_url=sim.base_url) as raw:
            headers = auth_headers(CREDS, "GET", "/v1/orders/open", subaccount_id=SUB)
            assert (await raw.get("/v1/orders/open", headers=headers)).status_code == 200
            replay = await raw.get("/v1/orders/open", headers=headers)
            assert replay.status_code == 401 and "replay" in replay.json()["message"]
            text = '{"side":"BUY","quantity":0.01,"price":1000000,"pair":"BTCZAR"}'
            headers = auth_headers(CREDS, "POST", "/v1/orders/limit", text)
            no_type = await raw.post("/v1/orders/limit", content=text, headers=headers)
            assert no_type.status_code == 403
            # Numbers as JSON numbers are accepted, as VALR does.
            headers = auth_headers(CREDS, "POST", "/v1/orders/limit", text)
            ok = await raw.post("/v1/orders/limit", content=text,
                                headers={**headers, "Content-Type": "application/json"})
            assert ok.status_code == 202 and set(ok.json()) == {"id", "customerOrderId"}
            broken = '{"side":"BUY",'
            headers = auth_headers(CREDS, "POST", "/v1/orders/limit", broken)
            bad = await raw.post("/v1/orders/limit", content=broken,
                                 headers={**headers, "Content-Type": "application/json"})
            assert bad.status_code == 400 and set(bad.json()) == {"code", "message"}
    run_with_sim(body)


def test_429_waits_then_succeeds_and_raises_when_waiting_is_not_allowed():
    async def body(sim, client):
        await sim.set_faults(rest_error={"status": 429, "count": 2, "retry_after": 0.05})
        started = time.monotonic()
        assert await client.open_orders(SUB) == []
        assert time.monotonic() - started >= 0.1
        assert sim.counters()["rest"]["GET /v1/orders/open"] == 3
        # A 429 proves the order was not accepted: the POST is retried, and placed once.
        await sim.set_faults(rest_error={"status": 429, "count": 1, "retry_after": 0.01})
        await place(client, "after-429")
        assert len(sim.truth()["orders"]) == 1
        async with ValrClient(sim.base_url, CREDS, wait_on_429=False) as impatient:
            await sim.set_faults(rest_error={"status": 429, "count": 1})
            with pytest.raises(RateLimited):
                await impatient.open_orders(SUB)
    run_with_sim(body)


def test_server_errors_timeouts_and_refused_connections_are_transport_errors():
    async def body(sim, client):
        await sim.set_faults(rest_error={"status": 503, "seconds": 5})
        with pytest.raises(TransportError) as caught:
            await client.order_status(SUB, "BTCZAR", order_id="x")
        assert caught.value.status == 503 and not isinstance(caught.value, ValrError)
        await sim.set_faults(rest_error=None, latency_ms=400)
        async with ValrClient(sim.base_url, CREDS, timeout=0.1) as hasty:
            with pytest.raises(TransportError) as caught:
                await hasty.open_orders(SUB)
            assert not isinstance(caught.value, PlacementAnswerLost)
            with pytest.raises(PlacementAnswerLost):  # sent, no answer: VALR may have it
                await place(hasty, "slow-1")
        await sim.set_faults(latency_ms=0)
        await asyncio.sleep(0.4)
        assert [o["customerOrderId"] for o in sim.truth()["orders"]] == ["slow-1"]
        async with ValrClient("http://127.0.0.1:9", CREDS) as nowhere:
            with pytest.raises(TransportError):
                await nowhere.open_orders(SUB)
    run_with_sim(body)


def test_lost_placement_answer_is_resolved_by_customer_order_id():
    async def body(sim, client):
        await sim.set_faults(lose_placement_answers=1)
        with pytest.raises(PlacementAnswerLost):
            await place(client, "lost-1")
        await asyncio.sleep(0.02)
        found = await client.order_status(SUB, "BTCZAR", customer_order_id="lost-1")
        assert found["orderStatusType"] == "Placed"
        assert client.requests_sent["POST /v1/orders/limit"] == 1  # never resent
    run_with_sim(body)


def test_skewed_clock_is_refused_at_start_and_by_the_exchange():
    async def body(sim, client):
        assert abs(await client.check_clock()) < 2
        ahead = lambda: time.time() + 120  # noqa: E731
        async with ValrClient(sim.base_url, CREDS, clock=ahead) as skewed:
            with pytest.raises(ClockSkewError, match=r"\+120\.\ds off VALR's server time \(limit 30s\)"):
                await skewed.check_clock(max_skew_seconds=30)
            with pytest.raises(AuthenticationError, match="timestamp"):
                await skewed.open_orders(SUB)
    run_with_sim(body)


def test_a_slow_time_answer_does_not_fail_a_good_clock():
    """The time request waited 40 s (a 429 storm, in chaos): the clock is right, the midpoint estimate is
    20 s off; only a skew surely beyond the limit refuses the start."""
    async def body(sim, client):
        readings = iter([time.time() - 40])  # the request left 40 s ago; the answer is now
        clock = lambda: next(readings, None) or time.time()  # noqa: E731
        async with ValrClient(sim.base_url, CREDS, clock=clock) as slow:
            skew = await slow.check_clock(max_skew_seconds=10)
        assert -21 < skew < -19  # the estimate, kept for the record; not refused
    run_with_sim(body)


def test_rest_budget_of_the_simulator_answers_429_like_valr():
    async def body(sim, client):
        async with httpx.AsyncClient(base_url=sim.base_url) as raw:
            statuses = []
            for _ in range(4):
                statuses.append((await raw.get("/v1/orders/open",
                                               headers=auth_headers(CREDS, "GET", "/v1/orders/open"))))
            assert [r.status_code for r in statuses] == [200, 200, 200, 429]
            assert statuses[-1].headers["x-valr-ratelimited"] == "true"
    run_with_sim(body, config=SimConfig(rest_per_minute_key=3))


def test_no_limits_flag_lifts_the_budget():
    async def body(sim, client):
        answers = [await client.open_orders(SUB) for _ in range(5)]  # a budget of 3 would answer the 4th 429
        assert answers == [[]] * 5
        assert sim.counters()["rest"]["GET /v1/orders/open"] == 5
    # A 429 raises here (no wait, no retry): the budget lifted is seen, not waited out.
    run_with_sim(body, config=SimConfig(rest_per_minute_key=3, enforce_limits=False), wait_on_429=False)


class ImportSearches:
    """A finder that records every module Python goes looking for (and finds nothing itself)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name, path=None, target=None):
        self.names.append(name)
        return None


def test_a_rest_call_searches_for_no_module():
    """httpcore imports sniffio whenever it sets up a lock; with sniffio absent the import failed every
    time, and a failed import is not cached: each REST call searched sys.path (~0.8 ms of CPU, the
    worker's one thread). Once warm, calls import nothing."""
    async def body(sim, client):
        for _ in range(3):  # warm: whatever a first call imports, it imports now
            await asyncio.gather(*(client.cancel_order(SUB, "BTCZAR", customer_order_id=f"none-{i}") for i in range(3)),
                                 return_exceptions=True)
        searches = ImportSearches()
        sys.meta_path.insert(0, searches)
        try:
            for _ in range(5):  # concurrent, as a fallback round's DELETEs: the pool's locks are set up
                await asyncio.gather(*(client.cancel_order(SUB, "BTCZAR", customer_order_id=f"none-{i}")
                                       for i in range(3)), return_exceptions=True)
                await client.public_order_types()
        finally:
            sys.meta_path.remove(searches)
        assert searches.names == []
    run_with_sim(body)
