"""Request authentication beyond tests/test_valr_client.py: the simulator (like VALR) refuses replayed,
expired, tampered and wrong-subaccount requests — and a refused request changes nothing — while our
client signs every account request it sends, retries included.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import pytest

from worker.lab.sim import SimConfig
from worker.lab.sim.testing import CREDS, SECRET, run_with_sim
from worker.valr import AccountSocket, AuthenticationError, OrderNotFound, TransportError
from worker.valr.signing import SIGNATURE_HEADER, SUBACCOUNT_HEADER, TIMESTAMP_HEADER, auth_headers, sign_request

A, B = "1111", "2222"
ORDER = '{"side":"BUY","quantity":"0.01","price":"1000000","pair":"BTCZAR","customerOrderId":"%s"}'
JSON = {"Content-Type": "application/json"}


async def post_order(raw: httpx.AsyncClient, headers: dict, body: str) -> httpx.Response:
    return await raw.post("/v1/orders/limit", content=body, headers={**headers, **JSON})


def test_replayed_placement_is_refused_and_places_nothing():
    async def body(sim, client):
        async with httpx.AsyncClient(base_url=sim.base_url) as raw:
            text = ORDER % "replay-1"
            headers = auth_headers(CREDS, "POST", "/v1/orders/limit", text, A)
            assert (await post_order(raw, headers, text)).status_code == 202
            again = await post_order(raw, headers, text)
            assert again.status_code == 401 and "replay" in again.json()["message"]
        assert len(sim.truth()["orders"]) == 1
    run_with_sim(body)


def test_request_signed_outside_the_window_is_refused_even_with_a_valid_signature():
    async def body(sim, client):
        async with httpx.AsyncClient(base_url=sim.base_url) as raw:
            for offset_ms in (-31_000, 31_000, -3_600_000):
                stamp = int(time.time() * 1000) + offset_ms
                text = ORDER % f"late-{offset_ms}"
                headers = auth_headers(CREDS, "POST", "/v1/orders/limit", text, A, timestamp_ms=stamp)
                refused = await post_order(raw, headers, text)
                assert refused.status_code == 401 and "expired" in refused.json()["message"]
        assert sim.truth()["orders"] == []
    run_with_sim(body)


def test_tampered_body_path_or_timestamp_breaks_the_signature():
    async def body(sim, client):
        async with httpx.AsyncClient(base_url=sim.base_url) as raw:
            signed = ORDER % "t-1"
            headers = auth_headers(CREDS, "POST", "/v1/orders/limit", signed, A)
            tampered = signed.replace('"quantity":"0.01"', '"quantity":"10"')
            refused = await post_order(raw, headers, tampered)
            assert refused.status_code == 401 and "signature" in refused.json()["message"]

            headers = auth_headers(CREDS, "GET", "/v1/orders/open", "", A)
            assert (await raw.get("/v1/account/tradehistory", headers=headers)).status_code == 401

            headers = auth_headers(CREDS, "GET", "/v1/orders/open", "", A)
            headers[TIMESTAMP_HEADER] = str(int(headers[TIMESTAMP_HEADER]) + 1)
            assert (await raw.get("/v1/orders/open", headers=headers)).status_code == 401

            headers = auth_headers(CREDS, "GET", "/v1/orders/open", "", A)
            headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER][:-1] + ("0" if headers[SIGNATURE_HEADER][-1] != "0" else "1")
            assert (await raw.get("/v1/orders/open", headers=headers)).status_code == 401
        assert sim.truth()["orders"] == []
    run_with_sim(body)


def test_request_signed_for_one_subaccount_cannot_act_for_another():
    async def body(sim, client):
        async with httpx.AsyncClient(base_url=sim.base_url) as raw:
            text = ORDER % "sub-1"
            headers = auth_headers(CREDS, "POST", "/v1/orders/limit", text, A)
            headers[SUBACCOUNT_HEADER] = B                      # signed for A, sent as B
            assert (await post_order(raw, headers, text)).status_code == 401
            headers = auth_headers(CREDS, "POST", "/v1/orders/limit", text, A)
            del headers[SUBACCOUNT_HEADER]                      # signed for A, sent as the primary
            assert (await post_order(raw, headers, text)).status_code == 401
            headers = auth_headers(CREDS, "POST", "/v1/orders/limit", text, "")
            headers[SUBACCOUNT_HEADER] = A                      # signed as primary, sent as A
            assert (await post_order(raw, headers, text)).status_code == 401
        assert sim.truth()["orders"] == []
        placed = await client.place_limit_order(A, pair="BTCZAR", side="BUY", quantity=Decimal("0.01"),
                                                price=Decimal("1000000"), customer_order_id="mine")
        await asyncio.sleep(0.02)
        with pytest.raises(OrderNotFound):
            await client.order_status(B, "BTCZAR", order_id=placed.id)
        with pytest.raises(OrderNotFound):
            await client.cancel_order(B, "BTCZAR", order_id=placed.id)
        assert sim.truth()["orders"][0]["status"] == "Placed"
        assert await client.open_orders(B) == []
    run_with_sim(body)


def test_websocket_handshake_signed_for_another_subaccount_or_replayed_is_refused():
    async def body(sim, client):
        import websockets

        url = sim.base_url.replace("http://", "ws://") + "/ws/account"
        headers = auth_headers(CREDS, "GET", "/ws/account", "", A)
        headers[SUBACCOUNT_HEADER] = B
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await websockets.connect(url, additional_headers=headers)
        assert refused.value.response.status_code == 401
        headers = auth_headers(CREDS, "GET", "/ws/account", "", A)
        ws = await websockets.connect(url, additional_headers=headers)
        await ws.close()
        with pytest.raises(websockets.exceptions.InvalidStatus):
            await websockets.connect(url, additional_headers=headers)   # the same signed upgrade again
        async with AccountSocket(sim.base_url, CREDS, A):
            pass  # ours, freshly signed, is accepted
    run_with_sim(body)


def test_client_signs_every_account_request_it_sends_retries_and_errors_included():
    """An httpx hook on the client's own connection re-computes each outgoing request's signature
    from what is actually on the wire: method, raw path with query, body bytes, subaccount header."""
    seen: list[tuple[str, bool]] = []

    async def check(request: httpx.Request) -> None:
        path = request.url.raw_path.decode()
        if path.startswith("/v1/public/"):
            seen.append((path, True))
            return
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        expected = sign_request(SECRET, stamp, request.method, path, request.content.decode(),
                                request.headers.get(SUBACCOUNT_HEADER, ""))
        seen.append((path, bool(stamp) and request.headers.get(SIGNATURE_HEADER) == expected))

    async def body(sim, client):
        client._http.event_hooks["request"].append(check)  # the client's own transport, not a copy
        await client.check_clock()
        placed = await client.place_limit_order(A, pair="BTCZAR", side="BUY", quantity=Decimal("0.01"),
                                                price=Decimal("1000000"), customer_order_id="signed-1")
        await asyncio.sleep(0.02)
        await client.order_status(A, "BTCZAR", order_id=placed.id)
        await client.order_status(A, "BTCZAR", customer_order_id="signed-1")
        await client.order_history_detail(A, placed.id)
        await client.open_orders(A)
        sim.fill(placed.id)
        await client.order_trades(A, "BTCZAR", placed.id)
        with pytest.raises(OrderNotFound):
            await client.order_status(A, "BTCZAR", order_id="nope")
        await sim.set_faults(rest_error={"status": 429, "count": 2, "retry_after": 0.05})
        await client.open_orders(A)                      # two 429s, then the answer: three requests
        await sim.set_faults(rest_error={"status": 503, "count": 1})
        with pytest.raises(TransportError):
            await client.open_orders("")
        await sim.set_faults(reset=True)
        placed2 = await client.place_limit_order("", pair="BTCZAR", side="SELL", quantity=Decimal("0.01"),
                                                 price=Decimal("1000000"), customer_order_id="signed-2")
        await asyncio.sleep(0.02)
        await client.cancel_order("", "BTCZAR", order_id=placed2.id)

    run_with_sim(body, config=SimConfig(mode="manual"))
    account_requests = [ok for path, ok in seen if not path.startswith("/v1/public/")]
    assert len(account_requests) >= 13 and all(account_requests), seen


def test_refused_signature_error_never_carries_the_secret():
    async def body(sim, client):
        from worker.valr import Credentials, ValrClient

        secret = "a-very-secret-value-0123456789"
        async with ValrClient(sim.base_url, Credentials("test-key-0123456789", secret)) as bad:
            with pytest.raises(AuthenticationError) as caught:
                await bad.open_orders(A)
            assert secret not in repr(caught.value) and secret not in str(caught.value)
            assert secret not in repr(bad) and secret not in repr(bad.credentials)
    run_with_sim(body)
