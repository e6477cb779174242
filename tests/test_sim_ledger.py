"""The simulator's account ledger over real sockets: VALR's transaction history (paging by beforeId and by
skip, limit ≤ 200, windows across subaccounts), balances with funds reserved by resting orders, deposits
(fiat; crypto with confirmations), withdrawals with their fee, transfers between subaccounts, and the
ledger's faults (history records dropped, duplicated, reordered; a fill that reaches only the history)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal

import httpx

from worker.lab.sim import SimulatorThread
from worker.lab.sim.testing import KEY, SECRET, RawAccountSocket, run_with_sim, valr_call

A, B = "7001", "7002"
HISTORY = "/v1/account/transactionhistory"


def with_http(body):
    """run_with_sim, with an httpx client on the simulator for signed and admin calls."""
    async def outer(sim, client):
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            await body(sim, http)
    run_with_sim(outer)


async def history(http, sub: str, query: str = "") -> list[dict]:
    answer = await valr_call(http, "GET", f"{HISTORY}?{query}" if query else HISTORY, sub)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def admin(http, action: str, **body) -> dict:
    answer = await http.post(f"/_sim/{action}", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def balance(http, sub: str, currency: str) -> dict:
    items = (await valr_call(http, "GET", "/v1/account/balances", sub)).json()
    return next(i for i in items if i["currency"] == currency)


async def eventually(condition, timeout: float = 3.0) -> None:
    async def wait() -> None:
        while not await condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), timeout)


def test_450_transactions_read_exactly_once_by_before_id_and_by_skip_across_a_same_time_boundary():
    async def body(sim, http):
        made = (await admin(http, "deposit", subaccountId=A, currency="ZAR", amount="10", count=249))["transactions"]
        made += (await admin(http, "deposit", subaccountId=A, currency="ZAR", amount="10", count=2,
                             sameTime=True))["transactions"]
        made += (await admin(http, "deposit", subaccountId=A, currency="ZAR", amount="10", count=199))["transactions"]
        by_id, page = [], await history(http, A, "limit=200")
        while page:
            by_id += page
            page = await history(http, A, f"limit=200&beforeId={page[-1]['id']}")
        by_skip = []
        for skip in range(0, 600, 200):
            by_skip += await history(http, A, f"limit=200&skip={skip}")
        newest_first = list(reversed(made))
        assert [t["id"] for t in by_id] == newest_first and [t["id"] for t in by_skip] == newest_first
        # The first page ends inside the pair that shares one timestamp: its other half opens page two.
        assert by_id[199]["eventAt"] == by_id[200]["eventAt"]
        assert {t["id"] for t in by_id[199:201]} == set(made[249:251])
    with_http(body)


def test_a_limit_over_200_is_refused_and_200_is_served():
    async def body(sim, http):
        refused = await valr_call(http, "GET", f"{HISTORY}?limit=201", A)
        assert refused.status_code == 400 and refused.json()["code"] == -11 and "200" in refused.json()["message"]
        assert (await valr_call(http, "GET", f"{HISTORY}?limit=200", A)).status_code == 200
        across = await valr_call(http, "GET", f"{HISTORY}/subaccounts?limit=201")
        assert across.status_code == 400
    with_http(body)


def test_two_deposits_of_the_same_amount_are_two_transactions_on_the_socket_and_in_rest():
    async def body(sim, http):
        before = Decimal((await balance(http, A, "ZAR"))["total"])
        async with RawAccountSocket(sim.base_url, A) as sock:
            for _ in range(2):
                await admin(http, "deposit", subaccountId=A, currency="ZAR", amount="500", sameTime=True)
            await sock.until(lambda f: len(sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")) == 2)
        records = sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")
        items = await history(http, A, "transactionTypes=FIAT_DEPOSIT&currency=ZAR")
        assert len({r["id"] for r in records}) == 2 and {i["id"] for i in items} == {r["id"] for r in records}
        # The socket nests the currency as an object (ZAR's symbol "R"); REST gives the code.
        assert records[0]["creditCurrency"]["shortName"] == "ZAR" and records[0]["creditCurrency"]["symbol"] == "R"
        assert items[0]["creditCurrency"] == "ZAR" and items[0]["creditValue"] == "500"
        assert "debitCurrency" not in items[0] and items[0]["transactionType"]["type"] == "FIAT_DEPOSIT"
        assert [b["total"] for b in sock.of_type("BALANCE_UPDATE")[-2:]] == [str(before + 500), str(before + 1000)]
    with_http(body)


def test_a_resting_buy_reserves_funds_available_drops_total_stays_and_no_transaction_is_made():
    async def body(sim, http):
        before = await balance(http, A, "ZAR")
        placed = await valr_call(http, "POST", "/v1/orders/limit", A, {"pair": "BTCZAR", "side": "BUY",
                                                                       "quantity": "0.01", "price": "1000000"})
        assert placed.status_code == 202

        async def reserved() -> bool:
            return (await balance(http, A, "ZAR"))["reserved"] == "10000"
        await eventually(reserved)
        after = await balance(http, A, "ZAR")
        assert after["total"] == before["total"] and after["updatedAt"] >= before["updatedAt"]
        assert Decimal(after["available"]) == Decimal(before["available"]) - 10000
        assert await history(http, A) == []
    with_http(body)


def test_with_reservation_updates_a_resting_order_and_its_cancel_each_send_a_balance_update():
    async def body(sim, http):
        await sim.set_faults(reservation_updates=True)
        async with RawAccountSocket(sim.base_url, A) as sock:
            on_connect = len(sock.of_type("BALANCE_UPDATE"))
            placed = await valr_call(http, "POST", "/v1/orders/limit", A, {"pair": "BTCZAR", "side": "BUY",
                                                                           "quantity": "0.01", "price": "1000000"})
            await sock.until(lambda f: len(sock.of_type("BALANCE_UPDATE")) == on_connect + 1)
            await valr_call(http, "DELETE", "/v1/orders/order", A, {"orderId": placed.json()["id"], "pair": "BTCZAR"})
            await sock.until(lambda f: len(sock.of_type("BALANCE_UPDATE")) == on_connect + 2)
        held, freed = sock.of_type("BALANCE_UPDATE")[on_connect:]
        assert held["currency"]["shortName"] == freed["currency"]["shortName"] == "ZAR"
        assert (held["reserved"], freed["reserved"]) == ("10000", "0") and held["total"] == freed["total"]
    with_http(body)


def test_a_transfer_between_subaccounts_is_one_debit_in_one_and_one_credit_in_the_other():
    async def body(sim, http):
        a0, b0 = [Decimal((await balance(http, s, "USDT"))["total"]) for s in (A, B)]
        refused = await valr_call(http, "POST", "/v1/account/subaccounts/transfer", B,
                                  {"fromId": A, "toId": B, "currencyCode": "USDT", "amount": "25.5"})
        assert refused.status_code == 403  # a subaccount moves only its own funds
        sent = await valr_call(http, "POST", "/v1/account/subaccounts/transfer", "",
                               {"fromId": A, "toId": B, "currencyCode": "USDT", "amount": "25.5"})
        assert sent.status_code == 202

        async def arrived() -> bool:
            return bool(await history(http, B))
        await eventually(arrived)
        (debit,), (credit,) = await history(http, A), await history(http, B)
        assert debit["transactionType"]["type"] == credit["transactionType"]["type"] == "INTERNAL_TRANSFER"
        assert (debit["debitCurrency"], debit["debitValue"]) == ("USDT", "25.5") and "creditValue" not in debit
        assert (credit["creditCurrency"], credit["creditValue"]) == ("USDT", "25.5") and "debitValue" not in credit
        assert debit["additionalInfo"]["transferId"] == credit["additionalInfo"]["transferId"]
        assert Decimal((await balance(http, A, "USDT"))["total"]) == a0 - Decimal("25.5")
        assert Decimal((await balance(http, B, "USDT"))["total"]) == b0 + Decimal("25.5")
    with_http(body)


def test_a_crypto_deposit_is_pending_while_it_confirms_then_credited_once():
    async def body(sim, http):
        async with RawAccountSocket(sim.base_url, A) as sock:
            (tx_hash,) = (await admin(http, "deposit", subaccountId=A, currency="ETH", amount="0.25", kind="crypto",
                                      confirmations=3, confirmEveryMs=30))["pending"]
            assert (await http.get("/_sim/ledger", params={"subaccountId": A})).json()["pending"][0][
                "transactionHash"] == tx_hash
            await sock.until(lambda f: bool(sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")))
        pending = sock.of_type("NEW_PENDING_RECEIVE")
        assert [(p["confirmations"], p["confirmed"]) for p in pending] == [(1, False), (2, False), (3, True)]
        assert {p["transactionHash"] for p in pending} == {tx_hash} and pending[0]["currency"]["shortName"] == "ETH"
        (item,) = await history(http, A)
        assert item["transactionType"]["type"] == "BLOCKCHAIN_RECEIVE" and item["creditValue"] == "0.25"
        assert item["additionalInfo"]["transactionHash"] == tx_hash
        assert (await http.get("/_sim/ledger", params={"subaccountId": A})).json()["pending"] == []
    with_http(body)


def test_every_record_moves_the_balance_by_credit_minus_debit_fees_included():
    """The ledger's rule, over a fill with a fee, a maker reward, a withdrawal with its network fee, a
    deposit and a transfer: per currency, the balance moved by the sum of creditValue − debitValue."""
    async def body(sim, http):
        currencies = ("BTC", "ZAR", "USDT")
        before = {c: Decimal((await balance(http, A, c))["total"]) for c in currencies}
        for pair, side, price in (("BTCZAR", "SELL", "1200000"), ("BTCUSDT", "BUY", "100000")):
            answer = await valr_call(http, "POST", "/v1/orders/limit", A,
                                     {"pair": pair, "side": side, "quantity": "0.01", "price": price})
            await asyncio.sleep(0.02)
            sim.fill(answer.json()["id"], subaccount_id=A)
        await admin(http, "withdraw", subaccountId=A, currency="BTC", amount="0.5", fee="0.0001")
        await admin(http, "deposit", subaccountId=A, currency="ZAR", amount="123.45")
        await admin(http, "transfer", fromId=A, toId="0", currencyCode="USDT", amount="7")
        items = await history(http, A)
        assert Counter(i["transactionType"]["type"] for i in items) == Counter(
            LIMIT_SELL=1, LIMIT_BUY=1, MAKER_REWARD=1, BLOCKCHAIN_SEND=1, FIAT_DEPOSIT=1, INTERNAL_TRANSFER=1)
        send = next(i for i in items if i["transactionType"]["type"] == "BLOCKCHAIN_SEND")
        assert (send["feeCurrency"], send["feeValue"], send["debitValue"]) == ("BTC", "0.0001", "0.5")
        sell = next(i for i in items if i["transactionType"]["type"] == "LIMIT_SELL")
        assert (sell["creditValue"], sell["feeValue"], sell["feeCurrency"]) == ("11988", "12", "ZAR")
        for c in currencies:
            moved = sum((Decimal(i.get("creditValue", 0)) for i in items if i.get("creditCurrency") == c), Decimal(0)) \
                - sum((Decimal(i.get("debitValue", 0)) for i in items if i.get("debitCurrency") == c), Decimal(0))
            assert Decimal((await balance(http, A, c))["total"]) - before[c] == moved, c
    with_http(body)


def test_history_records_dropped_duplicated_and_reordered_on_the_socket_all_stay_in_rest():
    async def body(sim, http):
        async with RawAccountSocket(sim.base_url, A) as sock:
            await sim.set_faults(history_drop=1, history_duplicate=1)
            made = [(await admin(http, "deposit", subaccountId=A, currency="ZAR", amount=str(n)))["transactions"][0]
                    for n in (1, 2, 3)]
            await sock.until(lambda f: len(sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")) == 3)
            assert [r["id"] for r in sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")] == [made[1], made[1], made[2]]
            await sim.set_faults(history_reorder=True)
            swapped = [(await admin(http, "deposit", subaccountId=A, currency="ZAR", amount=str(n)))["transactions"][0]
                       for n in (4, 5)]
            await sock.until(lambda f: len(sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")) == 5)
            assert [r["id"] for r in sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")[3:]] == swapped[::-1]
            await sim.set_faults(reset=True, history_drop_fraction=1.0)
            lost = (await admin(http, "deposit", subaccountId=A, currency="ZAR", amount="6"))["transactions"]
            await sim.set_faults(history_drop_fraction=0.0)
            seen = (await admin(http, "deposit", subaccountId=A, currency="ZAR", amount="7"))["transactions"]
            await sock.until(lambda f: len(sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")) == 6)
            assert sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")[5]["id"] == seen[0]  # frames keep their order
            assert len(sock.of_type("BALANCE_UPDATE")) == 7 + 7  # 7 assets on connect, then one per deposit
        assert [i["id"] for i in await history(http, A)] == (made + swapped + lost + seen)[::-1]
    with_http(body)


def test_a_fill_kept_off_the_order_socket_still_reaches_the_history_and_trade_history():
    async def body(sim, http):
        async with RawAccountSocket(sim.base_url, A) as sock:
            placed = await valr_call(http, "POST", "/v1/orders/limit", A, {"pair": "BTCZAR", "side": "BUY",
                                                                           "quantity": "0.01", "price": "1000000"})
            order_id = placed.json()["id"]
            await sock.until(lambda f: any(s["orderStatusType"] == "Placed" for s in sock.of_type("ORDER_STATUS_UPDATE")))
            await sim.set_faults(fills_off_socket=1)
            sim.fill(order_id, subaccount_id=A)
            await sock.until(lambda f: bool(sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")))
        assert sock.of_type("NEW_ACCOUNT_TRADE") == []
        assert [s["orderStatusType"] for s in sock.of_type("ORDER_STATUS_UPDATE")] == ["Placed"]
        (record,) = sock.of_type("NEW_ACCOUNT_HISTORY_RECORD")
        assert record["additionalInfo"]["orderId"] == order_id and sim.faults.fills_off_socket == 0
        trades = (await valr_call(http, "GET", "/v1/account/BTCZAR/tradehistory", A)).json()
        assert [t["orderId"] for t in trades] == [order_id]
        (item,) = await history(http, A)
        assert item["id"] == record["id"] and item["additionalInfo"]["orderId"] == order_id
    with_http(body)


def test_primary_key_endpoints_cover_every_subaccount_at_once_within_windows():
    async def body(sim, http):
        await admin(http, "deposit", subaccountId=A, currency="ZAR", amount="1")
        await admin(http, "deposit", subaccountId=B, currency="BTC", amount="2")
        await admin(http, "deposit", subaccountId="0", currency="ZAR", amount="3")  # the primary: not listed
        grouped = (await valr_call(http, "GET", f"{HISTORY}/subaccounts?limit=10")).json()
        assert {g["id"]: [t["creditValue"] for t in g["transactions"]] for g in grouped} == {A: ["1"], B: ["2"]}
        wide = await valr_call(http, "GET", f"{HISTORY}/subaccounts?startTime=2026-01-01T00:00:00.000Z"
                                            "&endTime=2026-01-08T00:00:01.000Z")
        assert wide.status_code == 400  # more than 7 days apart
        everyone = (await valr_call(http, "GET", "/v1/account/balances/all")).json()
        assert {g["account"]["id"] for g in everyone} == {A, B, "0"}
        assert all(b["total"] != "0" and set(b) >= {"available", "reserved", "total", "updatedAt"}
                   for g in everyone for b in g["balances"])
        for path in ("/v1/account/balances/all", f"{HISTORY}/subaccounts"):
            assert (await valr_call(http, "GET", path, A)).status_code == 401  # VALR: 401 when impersonating
    with_http(body)


def test_the_ledger_controls_work_from_another_thread():
    """SimulatorThread (the worker's end-to-end tests, demo, chaos): deposits confirm on the simulator's loop."""
    with SimulatorThread(KEY, SECRET) as sim:
        (tx_hash,) = sim.deposit(A, "BTC", "0.1", kind="crypto", confirmations=2)["pending"]
        sim.deposit(A, "ZAR", "100")
        sim.withdraw(A, "ZAR", "40", fee="8.5", kind="fiat")
        sim.transfer(A, B, "ZAR", "10")
        deadline = time.monotonic() + 3
        while not any(t["transactionType"]["type"] == "BLOCKCHAIN_RECEIVE" for t in sim.ledger(A)["transactions"]):
            assert time.monotonic() < deadline, "the crypto deposit was never credited"
        by_type = {t["transactionType"]["type"]: t for t in sim.ledger(A)["transactions"]}
        assert set(by_type) == {"BLOCKCHAIN_RECEIVE", "FIAT_DEPOSIT", "FIAT_WITHDRAWAL", "INTERNAL_TRANSFER"}
        assert by_type["BLOCKCHAIN_RECEIVE"]["additionalInfo"]["transactionHash"] == tx_hash
        assert (by_type["FIAT_WITHDRAWAL"]["debitValue"], by_type["FIAT_WITHDRAWAL"]["feeValue"]) == ("40", "8.5")
        assert [t["creditValue"] for t in sim.ledger(B)["transactions"]] == ["10"]
