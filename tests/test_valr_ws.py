"""The account WebSocket client against the simulator: handshake auth, subaccount isolation,
PING/PONG liveness, frames received before iteration, batching, malformed frames, socket loss."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from worker.lab.sim.testing import CREDS, KEY, collect, of_type, run_with_sim
from worker.valr import AccountSocket, AuthenticationError, ConnectionLost, Credentials
from worker.valr.framequeue import LIST_HOLD_S

A, B = "1001", "2002"


async def place(client, sub, cid, qty="0.01"):
    return await client.place_limit_order(sub, pair="BTCZAR", side="SELL", quantity=Decimal(qty),
                                          price=Decimal("1200000"), customer_order_id=cid)


async def crowd(client, sock, name: str, count: int) -> list:
    """`count` open orders in subaccount A, once the list VALR sends names them all (a long list)."""
    await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
    placed = [await place(client, A, f"{name}-{i}") for i in range(count)]
    await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" and len(e.data) == count for e in ev),
                  timeout=10)
    return placed


def statuses(events):
    return [e.data["orderStatusType"] for e in of_type(events, "ORDER_STATUS_UPDATE")]


def test_bad_key_or_secret_refuses_the_handshake():
    async def body(sim, client):
        for creds in (Credentials("not-the-key", "x"), Credentials(KEY, "wrong-secret")):
            with pytest.raises(AuthenticationError) as caught:
                async with AccountSocket(sim.base_url, creds, A):
                    pass
            assert caught.value.status == 401
        assert sim.counters()["ws_connections"] == 0 and sim.counters()["ws_refused"] == 2
    run_with_sim(body)


def test_first_batch_holds_the_frames_sent_right_after_authentication():
    async def body(sim, client):
        placed = await place(client, A, "already-open")
        await asyncio.sleep(0.02)
        async with AccountSocket(sim.base_url, CREDS, A) as sock:
            await asyncio.sleep(0.2)  # the caller starts iterating late: nothing may be lost
            batch = await asyncio.wait_for(sock.batches().__anext__(), 2)
        assert [e.type for e in batch] == ["BALANCE_UPDATE"] * 7 + ["OPEN_ORDERS_UPDATE"]
        assert batch[-1].data[0]["orderId"] == placed.id and batch[-1].data[0]["quantity"] == "0.01"
        # A currency object: ZAR's symbol is "R" (as in VALR's history records), its code is shortName.
        assert batch[0].data["currency"]["shortName"] == "ZAR" and batch[0].data["currency"]["symbol"] == "R"
    run_with_sim(body)


def test_order_events_in_valr_order_and_only_to_their_subaccount():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A) as sock_a, AccountSocket(sim.base_url, CREDS, B) as sock_b:
            await collect(sock_a, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
            await collect(sock_b, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
            placed = await place(client, A, "for-a")
            events = await collect(sock_a, lambda ev: len(of_type(ev, "OPEN_ORDERS_UPDATE")) >= 1)
            assert [e.type for e in events] == ["ORDER_PROCESSED", "ORDER_STATUS_UPDATE", "OPEN_ORDERS_UPDATE"]
            assert events[0].data["success"] is True and statuses(events) == ["Placed"]
            sim.fill(placed.id, quantity="0.004")
            events = await collect(sock_a, lambda ev: len(of_type(ev, "NEW_ACCOUNT_HISTORY_RECORD")) == 1)
            sim.fill(placed.id)
            events += await collect(sock_a, lambda ev: len(of_type(ev, "NEW_ACCOUNT_HISTORY_RECORD")) == 1)
            # Each fill also moves two balances (BALANCE_UPDATE for BTC and ZAR, after the order's frames)
            # and is an account history record (the ledger's, issue 23).
            assert [e.type for e in events] == ["NEW_ACCOUNT_TRADE", "ORDER_STATUS_UPDATE", "OPEN_ORDERS_UPDATE",
                                                "BALANCE_UPDATE", "BALANCE_UPDATE", "NEW_ACCOUNT_HISTORY_RECORD"] * 2
            events = [e for e in events if e.type not in ("BALANCE_UPDATE", "NEW_ACCOUNT_HISTORY_RECORD")]
            assert events[2].data[0]["quantity"] == "0.006" and events[5].data == []
            trades = of_type(events, "NEW_ACCOUNT_TRADE")
            assert [t.data["quantity"] for t in trades] == ["0.004", "0.006"]
            assert trades[0].data["side"] == "sell" and trades[0].data["id"] != trades[1].data["id"]
            assert trades[0].raw["currencyPairSymbol"] == "BTCZAR" and trades[0].data["feeCurrency"] == "ZAR"
            assert statuses(events) == ["Partially Filled", "Filled"]
            assert events[1].data["executedQuantity"] == "0.004" and events[1].data["remainingQuantity"] == "0.006"
            # B saw none of it.
            with pytest.raises(asyncio.TimeoutError):
                await collect(sock_b, lambda ev: True, timeout=0.3)
    run_with_sim(body)


def test_frames_that_arrive_together_come_in_one_batch():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A) as sock:
            await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
            placed = await place(client, A, "batched", qty="0.1")
            await collect(sock, lambda ev: "Placed" in statuses(ev))
            for _ in range(10):
                sim.fill(placed.id, quantity="0.001")
            await asyncio.sleep(0.2)
            batch = await asyncio.wait_for(sock.batches(max_batch=500).__anext__(), 2)
            # 10 × (trade, status, open orders, 2 balances, history record), drained in one go; of the
            # ten lists only the newest is kept, in its own place: the nine older ones are superseded.
            assert len(batch) + batch.superseded == 60 and batch.superseded == 9
            ledger = ["BALANCE_UPDATE", "BALANCE_UPDATE", "NEW_ACCOUNT_HISTORY_RECORD"]
            assert [e.type for e in batch] == (["NEW_ACCOUNT_TRADE", "ORDER_STATUS_UPDATE"] + ledger) * 9 + [
                "NEW_ACCOUNT_TRADE", "ORDER_STATUS_UPDATE", "OPEN_ORDERS_UPDATE"] + ledger
            assert batch[-4].data[0]["quantity"] == "0.09" and sock.superseded_frames == 9
            sim.fill(placed.id, quantity="0.001")
            await asyncio.sleep(0.1)
            assert len(await asyncio.wait_for(sock.batches(max_batch=2).__anext__(), 2)) == 2
    run_with_sim(body)


def test_a_full_queue_stops_reading_the_socket_and_loses_nothing():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A, queue_limit=5) as sock:
            await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
            placed = await place(client, A, "backpressure", qty="0.1")
            await collect(sock, lambda ev: "Placed" in statuses(ev))
            for _ in range(40):
                sim.fill(placed.id, quantity="0.001")
            await asyncio.sleep(0.5)  # nobody takes frames meanwhile
            assert sock.waiting_frames == 5  # the reader waits: the rest stays on the socket
            events = await collect(sock, lambda ev: len(of_type(ev, "NEW_ACCOUNT_TRADE")) == 40
                                   and len(statuses(ev)) == 40)
            trades = of_type(events, "NEW_ACCOUNT_TRADE")
            assert [t.data["quantity"] for t in trades] == ["0.001"] * 40
            assert len({t.data["id"] for t in trades}) == 40 and statuses(events) == ["Partially Filled"] * 40
    run_with_sim(body)


def test_a_long_open_orders_list_comes_after_the_fills_frames_in_a_batch_of_its_own():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A) as sock:
            placed = await crowd(client, sock, "crowd", 120)
            sim.fill(placed[0].id, quantity="0.004")
            await asyncio.sleep(0.2)  # trade, status and the 120-item list are all on the socket
            batches = sock.batches()
            first = await asyncio.wait_for(batches.__anext__(), 2)
            assert [e.type for e in first] == ["NEW_ACCOUNT_TRADE", "ORDER_STATUS_UPDATE"]
            # No newer list comes: the list is recorded once its hold is over, with the balance updates
            # VALR sent after it.
            second = await asyncio.wait_for(batches.__anext__(), 3)
            assert [e.type for e in second] == ["OPEN_ORDERS_UPDATE", "BALANCE_UPDATE", "BALANCE_UPDATE",
                                                "NEW_ACCOUNT_HISTORY_RECORD"]
            assert len(second[0].data) == 120
    run_with_sim(body)


def test_ping_pong_keeps_the_socket_and_a_missing_pong_kills_it():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A, ping_interval=0.05, pong_timeout=0.2) as sock:
            await asyncio.sleep(0.4)  # several PING/PONG rounds
            placed = await place(client, A, "alive")
            events = await collect(sock, lambda ev: "Placed" in statuses(ev))
            assert of_type(events, "ORDER_STATUS_UPDATE")[0].data["orderId"] == placed.id
            await sim.set_faults(pong=False)
            with pytest.raises(ConnectionLost, match="no PONG"):
                await collect(sock, lambda ev: False, timeout=2)
    run_with_sim(body)


def test_malformed_frame_is_skipped_and_the_stream_goes_on():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A) as sock:
            await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
            await sim.set_faults(malformed_frame=True)
            await place(client, A, "after-garbage")
            events = await collect(sock, lambda ev: "Placed" in statuses(ev))
            assert sock.skipped_frames == 1 and statuses(events) == ["Placed"]
    run_with_sim(body)


def test_closed_socket_ends_the_iterator_with_connection_lost():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A) as sock:
            await collect(sock, lambda ev: any(e.type == "OPEN_ORDERS_UPDATE" for e in ev))
            await sim.set_faults(close_sockets=True)
            with pytest.raises(ConnectionLost) as caught:
                await collect(sock, lambda ev: False, timeout=2)
            assert caught.value.code == 1012
    run_with_sim(body)


def test_the_socket_does_not_negotiate_compression():
    # The simulator, like aiohttp by default, would accept permessage-deflate if it were offered.
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A) as sock:
            assert "permessage-deflate" not in (sock._ws.response.headers.get("Sec-WebSocket-Extensions") or "")
            assert sock._ws.protocol.extensions == []
    run_with_sim(body)


def test_a_long_list_whose_hold_ran_out_is_recorded_right_after_the_next_changes_frames():
    """A steady stream of changes with many open orders: the held list is not recorded at the moment
    its hold runs out (the next change's fill may be a moment away and would wait behind it); it
    waits for the next change, whose frames are taken first, and whose list is taken right after."""
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, A) as sock:
            placed = await crowd(client, sock, "steady", 120)
            taken: list[tuple[float, list[str], list]] = []
            superseded, start = sock.superseded_frames, time.monotonic()

            async def read() -> None:
                async for batch in sock.batches():
                    taken.append((time.monotonic() - start, [e.type for e in batch], list(batch)))

            reader = asyncio.create_task(read())
            for change in range(3):  # at 0, 0.6 and 1.2 × LIST_HOLD_S: the hold runs out at 1.0
                if change:
                    await asyncio.sleep(0.6 * LIST_HOLD_S)
                sim.fill(placed[0].id, quantity="0.001")
            await asyncio.sleep(0.5 * LIST_HOLD_S)
            reader.cancel()
            fill, balances, listed = ["NEW_ACCOUNT_TRADE", "ORDER_STATUS_UPDATE"], \
                ["BALANCE_UPDATE"] * 2 + ["NEW_ACCOUNT_HISTORY_RECORD"], ["OPEN_ORDERS_UPDATE"]
            assert [types for _, types, _ in taken] == [fill, balances + fill, balances + fill, listed + balances]
            # The one list recorded is the third change's, taken right after its fill's frames (not the
            # second change's list at 1.0 × LIST_HOLD_S, when its hold ran out).
            (at_fill, _, _), (at_list, _, (open_list, *_)) = taken[2], taken[3]
            assert at_list >= 1.2 * LIST_HOLD_S and at_list - at_fill < 0.2 * LIST_HOLD_S, taken
            item = next(i for i in open_list.data if i["orderId"] == placed[0].id)
            assert item["quantity"] == "0.007" and sock.superseded_frames - superseded == 2
    run_with_sim(body)
