"""The Binance double driven by unmodified ccxt (`ccxt.pro.binance`, its URLs pointed at the double by
`point_at`) over real sockets: markets, orders with our client order id, live order and trade events, the
errors ccxt maps from Binance's answers, the faults, deposits and the price streams.

One double and one ccxt client for the module (on one event loop); every test uses fresh client order ids
and its own key where balances matter. Events are collected by the watchers the worker will hold
(`watch_orders`, `watch_my_trades`), started once; tests wait on what they collected."""

from __future__ import annotations

import asyncio
import copy
import json
import time
import urllib.error
import urllib.request
import uuid
from types import SimpleNamespace

import ccxt
import ccxt.pro
import pytest

from worker.exchanges.urls import point_at
from worker.lab.doubles.binance import binance_double
from worker.lab.doubles.server import DoubleThread

KEYS = {"key-main": "secret-main", "key-poor": "secret-poor", "key-rich": "secret-rich"}
SYMBOL = "BTC/USDT"


def client(base_url: str, key: str = "key-main", secret: str | None = None) -> ccxt.pro.binance:
    """ccxt as the worker makes it: rate limiting on, the exchange's URLs at the double."""
    return point_at(ccxt.pro.binance({"apiKey": key, "secret": secret or KEYS[key], "enableRateLimit": True}),
                    base_url)


def admin(base_url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(f"{base_url}/_double/{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


@pytest.fixture(scope="module")
def bn():
    server = binance_double(KEYS)
    loop = asyncio.new_event_loop()
    with DoubleThread(server) as thread:
        ex = client(thread.base_url)
        seen = SimpleNamespace(orders=[], trades=[])

        async def collect(watch, into):
            while True:
                try:
                    into.extend(copy.deepcopy(await watch()))  # ccxt updates its cached orders in place
                except ccxt.NetworkError:  # a socket closed: watch again (ccxt subscribes anew), as the worker does
                    await asyncio.sleep(0.05)

        async def start():
            await ex.load_markets()
            tasks = [asyncio.ensure_future(collect(ex.watch_orders, seen.orders)),
                     asyncio.ensure_future(collect(ex.watch_my_trades, seen.trades))]
            await until(lambda: any(c.subscriptions for c in list(server.conns)), "the user data subscription")
            return tasks
        tasks = loop.run_until_complete(start())
        yield SimpleNamespace(ex=ex, loop=loop, server=server, thread=thread, url=thread.base_url, seen=seen,
                              run=loop.run_until_complete)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(ex.close())
    loop.close()


async def until(predicate, what: str, timeout: float = 5.0):
    """Let the loop run (ccxt reads its sockets) until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return value


def cid() -> str:
    return str(uuid.uuid4())


def test_markets_load_with_binance_filters(bn):
    market = bn.ex.markets[SYMBOL]
    assert market["id"] == "BTCUSDT" and market["spot"] and market["active"]
    assert (market["precision"]["amount"], market["precision"]["price"]) == (1e-05, 0.01)
    assert market["limits"]["cost"]["min"] == 5
    assert {"BTC/USDT", "ETH/USDT", "BTC/USDC"} <= set(bn.ex.markets)


def test_limit_order_rests_and_is_found_by_our_client_order_id(bn):
    ours = cid()

    async def scenario():
        placed = await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 59000, {"clientOrderId": ours})
        by_id = await bn.ex.fetch_order(placed["id"], SYMBOL)
        by_ours = await bn.ex.fetch_order(None, SYMBOL, {"origClientOrderId": ours})
        open_orders = await bn.ex.fetch_open_orders(SYMBOL)
        return placed, by_id, by_ours, open_orders
    placed, by_id, by_ours, open_orders = bn.run(scenario())
    assert placed["clientOrderId"] == ours and placed["status"] == "open" and placed["id"].isdigit()
    assert placed["info"]["clientOrderId"] == ours
    assert (by_id["clientOrderId"], by_id["status"], by_id["remaining"]) == (ours, "open", 0.01)
    assert by_ours["id"] == placed["id"]
    assert ours in [o["clientOrderId"] for o in open_orders]
    bn.run(until(lambda: [o for o in bn.seen.orders if o["clientOrderId"] == ours and o["status"] == "open"],
                 "the NEW executionReport"))


def test_partial_fill_then_market_move_reach_the_streams_in_order(bn):
    ours = cid()

    async def scenario():
        placed = await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 59500, {"clientOrderId": ours})
        await until(lambda: [o for o in bn.seen.orders if o["id"] == placed["id"]], "NEW")
        await asyncio.to_thread(admin, bn.url, "fill", {"orderId": placed["id"], "amount": "0.004"})
        await until(lambda: [t for t in bn.seen.trades if t["order"] == placed["id"]], "the partial trade")
        await asyncio.to_thread(admin, bn.url, "market", {"symbol": SYMBOL, "bid": "59000", "ask": "59400"})
        await until(lambda: len([t for t in bn.seen.trades if t["order"] == placed["id"]]) == 2, "the second trade")
        await until(lambda: [o for o in bn.seen.orders if o["id"] == placed["id"] and o["status"] == "closed"],
                    "the order closed")
        await asyncio.to_thread(admin, bn.url, "market", {"symbol": SYMBOL, "bid": "60000", "ask": "60010"})
        return placed, await bn.ex.fetch_order_trades(placed["id"], SYMBOL)
    placed, rest_trades = bn.run(scenario())
    updates = [(o["status"], o["filled"]) for o in bn.seen.orders if o["id"] == placed["id"]]
    assert updates == [("open", 0.0), ("open", 0.004), ("closed", 0.01)]
    assert all(o["clientOrderId"] == ours for o in bn.seen.orders if o["id"] == placed["id"])
    trades = [t for t in bn.seen.trades if t["order"] == placed["id"]]
    assert [t["amount"] for t in trades] == [0.004, 0.006]
    assert [t["price"] for t in trades] == [59500, 59500] and all(t["takerOrMaker"] == "maker" for t in trades)
    assert trades[0]["fee"] == {"cost": 4e-06, "currency": "BTC"}
    assert [t["id"] for t in rest_trades] == [t["id"] for t in trades]


def test_cancel_answers_with_the_cancels_own_id_but_the_stream_keeps_ours(bn):
    ours = cid()

    async def scenario():
        placed = await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 58000, {"clientOrderId": ours})
        cancelled = await bn.ex.cancel_order(placed["id"], SYMBOL)
        await until(lambda: [o for o in bn.seen.orders if o["id"] == placed["id"] and o["status"] == "canceled"],
                    "CANCELED")
        return cancelled, await bn.ex.fetch_order(placed["id"], SYMBOL)
    cancelled, fetched = bn.run(scenario())
    assert cancelled["status"] == "canceled"
    assert cancelled["clientOrderId"] != ours and cancelled["info"]["origClientOrderId"] == ours
    report = [o for o in bn.seen.orders if o["clientOrderId"] == ours][-1]
    assert report["status"] == "canceled" and report["info"]["C"] == ours and report["info"]["c"] != ours
    assert (fetched["status"], fetched["clientOrderId"]) == ("canceled", ours)


def test_cancelled_with_fills_is_canceled_with_its_filled_amount(bn):
    async def scenario():
        placed = await bn.ex.create_order(SYMBOL, "limit", "sell", 0.01, 61000, {"clientOrderId": cid()})
        await asyncio.to_thread(admin, bn.url, "fill", {"orderId": placed["id"], "amount": "0.003"})
        await bn.ex.cancel_order(placed["id"], SYMBOL)
        return await bn.ex.fetch_order(placed["id"], SYMBOL)
    fetched = bn.run(scenario())
    assert (fetched["status"], fetched["filled"], fetched["info"]["status"]) == ("canceled", 0.003, "CANCELED")


def test_an_expired_order_keeps_our_id_in_its_report(bn):
    ours = cid()

    async def scenario():
        placed = await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 52000, {"clientOrderId": ours})
        await asyncio.to_thread(admin, bn.url, "cancel", {"orderId": placed["id"], "status": "expired"})
        await until(lambda: [o for o in bn.seen.orders if o["id"] == placed["id"] and o["status"] == "expired"],
                    "EXPIRED")
        return await bn.ex.fetch_order(placed["id"], SYMBOL)
    fetched = bn.run(scenario())
    report = [o for o in bn.seen.orders if o["clientOrderId"] == ours][-1]
    assert (report["info"]["x"], report["info"]["c"], report["info"]["C"]) == ("EXPIRED", ours, "")
    assert (fetched["status"], fetched["info"]["status"]) == ("expired", "EXPIRED")


def test_market_order_answers_with_its_fills(bn):
    ours = cid()
    placed = bn.run(bn.ex.create_order(SYMBOL, "market", "buy", 0.002, None, {"clientOrderId": ours}))
    assert (placed["clientOrderId"], placed["status"], placed["filled"], placed["average"]) == (ours, "closed", 0.002,
                                                                                               60010)
    assert [t["amount"] for t in placed["trades"]] == [0.002] and placed["info"]["fills"][0]["tradeId"]


def test_market_order_refused_while_funds_are_reserved(bn):
    ex = client(bn.url, "key-poor")
    admin(bn.url, "withdraw", {"account": "key-poor", "currency": "USDT", "amount": "99999000"})  # 1,000 left

    async def scenario():
        resting = await ex.create_order(SYMBOL, "limit", "buy", 0.016, 59000, {"clientOrderId": cid()})  # 944 held
        balance = await ex.fetch_balance()
        with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
            await ex.create_order(SYMBOL, "market", "buy", 0.005, None, {"clientOrderId": cid()})
        await ex.cancel_order(resting["id"], SYMBOL)
        placed = await ex.create_order(SYMBOL, "market", "buy", 0.005, None, {"clientOrderId": cid()})
        await ex.close()
        return balance, placed
    balance, placed = bn.run(scenario())
    assert (balance["USDT"]["used"], balance["USDT"]["free"]) == (944, 56)
    assert placed["status"] == "closed"


def test_duplicate_open_client_order_id_is_refused(bn):
    ours = cid()

    async def scenario():
        await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 57000, {"clientOrderId": ours})
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 57000, {"clientOrderId": ours})
        with pytest.raises(ccxt.BadRequest, match="-1100"):  # outside ^[.A-Z:/a-z0-9_-]{1,36}$
            await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 57000, {"clientOrderId": ours + "-x"})
    bn.run(scenario())


def test_amount_and_price_off_the_filters_are_invalid_orders(bn):
    async def scenario():
        base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
        with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
            await bn.ex.private_post_order({**base, "quantity": "0.000015", "price": "59000"})
        with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
            await bn.ex.private_post_order({**base, "quantity": "0.001", "price": "59000.001"})
        # below the NOTIONAL minimum (5 USDT): Binance's -1013, which ccxt maps to BadRequest, not InvalidOrder
        with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
            await bn.ex.create_order(SYMBOL, "limit", "buy", 0.00005, 59000, {"clientOrderId": cid()})
    bn.run(scenario())


def test_unknown_orders_are_order_not_found(bn):
    async def scenario():
        with pytest.raises(ccxt.OrderNotFound, match="-2013"):
            await bn.ex.fetch_order("123", SYMBOL)
        with pytest.raises(ccxt.OrderNotFound, match="-2013"):
            await bn.ex.fetch_order(None, SYMBOL, {"origClientOrderId": cid()})
        with pytest.raises(ccxt.OrderNotFound, match="-2011"):
            await bn.ex.cancel_order("123", SYMBOL)
    bn.run(scenario())


def test_an_archived_order_answers_2026(bn):
    async def scenario():
        placed = await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 56000, {"clientOrderId": cid()})
        await bn.ex.cancel_order(placed["id"], SYMBOL)
        bn.thread.call(setattr, bn.server, "archive_after_ms", -1)
        try:
            with pytest.raises(ccxt.ExchangeError, match="-2026"):
                await bn.ex.fetch_order(placed["id"], SYMBOL)
        finally:
            bn.thread.call(delattr, bn.server, "archive_after_ms")
    bn.run(scenario())


@pytest.mark.parametrize("key, secret, code", [("key-main", "wrong", "-1022"), ("nobody", "secret", "-2015")])
def test_bad_credentials_are_authentication_errors(bn, key, secret, code):
    async def scenario():
        ex = client(bn.url, key, secret)
        ex.markets, ex.markets_by_id, ex.symbols = bn.ex.markets, bn.ex.markets_by_id, bn.ex.symbols
        try:
            with pytest.raises(ccxt.AuthenticationError, match=code):
                await ex.fetch_balance()
            # ccxt 4.5.90 turns the WebSocket API's refusal (status 400/401, the same code) into a KeyError:
            # its handle_ws_error drops the 'spot' subscription, then ensure_user_data_stream_ws_subscribe_
            # signature drops it again
            with pytest.raises((ccxt.AuthenticationError, KeyError)):
                await asyncio.wait_for(ex.watch_orders(), 5)
        finally:
            await ex.close()
    bn.run(scenario())


def test_a_stale_timestamp_is_refused(bn):
    async def scenario():
        ex = client(bn.url)
        ex.markets, ex.markets_by_id, ex.symbols = bn.ex.markets, bn.ex.markets_by_id, bn.ex.symbols
        ex.options["timeDifference"] = 20_000  # our clock 20 s behind: outside ccxt's 10 s recvWindow
        try:
            with pytest.raises(ccxt.InvalidNonce, match="-1021"):
                await ex.fetch_balance()
        finally:
            await ex.close()
    bn.run(scenario())


def test_rate_limits_answer_429_with_retry_after(bn):
    admin(bn.url, "faults", {"rate_limit": 1})
    with pytest.raises(ccxt.DDoSProtection, match="429"):  # ccxt's RateLimitExceeded is a DDoSProtection
        bn.run(bn.ex.fetch_balance())
    used = bn.thread.call(bn.server.limits.used_weight)
    bn.thread.call(setattr, bn.server.limits, "weight_per_minute", used + 20)
    try:
        bn.run(bn.ex.fetch_balance())  # weight 20: exactly at the limit
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{bn.url}/api/v3/exchangeInfo", timeout=5)
    finally:
        bn.thread.call(setattr, bn.server.limits, "weight_per_minute", 6000)
    assert refused.value.code == 429 and int(refused.value.headers["Retry-After"]) > 0
    assert json.loads(refused.value.read())["code"] == -1003


def test_a_lost_placement_answer_leaves_the_order_findable_by_our_id(bn):
    ours = cid()
    admin(bn.url, "faults", {"lose_placement_answers": 1})

    async def scenario():
        with pytest.raises(ccxt.NetworkError):
            await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 55000, {"clientOrderId": ours})
        return await bn.ex.fetch_order(None, SYMBOL, {"origClientOrderId": ours})
    found = bn.run(scenario())
    assert (found["clientOrderId"], found["status"]) == (ours, "open")


def test_deposits_and_balance_stream_after_a_deposit(bn):
    ex = client(bn.url, "key-rich")

    async def scenario():
        await ex.load_markets()
        watching = asyncio.ensure_future(ex.watch_balance())
        await until(lambda: sum(len(c.subscriptions) for c in list(bn.server.conns)) >= 2, "the second subscription")
        await asyncio.to_thread(admin, bn.url, "deposit", {"account": "key-rich", "currency": "BTC", "amount": "2.5"})
        balance = await asyncio.wait_for(watching, 5)
        deposits = await ex.fetch_deposits("BTC")
        with pytest.raises(ccxt.NotSupported):  # ccxt's fetch_ledger is for Binance's contract wallets only
            await ex.fetch_ledger("BTC")
        await ex.close()
        return balance, deposits
    balance, deposits = bn.run(scenario())
    assert balance["BTC"]["free"] == 1002.5
    assert [(d["currency"], d["amount"], d["status"], d["type"]) for d in deposits] == [("BTC", 2.5, "ok", "deposit")]


def test_ticker_streams_follow_the_market(bn):
    async def scenario():
        first = dict((await bn.ex.watch_bids_asks([SYMBOL]))[SYMBOL])
        await bn.ex.watch_ticker(SYMBOL)
        await asyncio.to_thread(admin, bn.url, "market", {"symbol": SYMBOL, "bid": "60100", "ask": "60110"})
        # ccxt keeps reading while no watch call waits: the newest of each stream is in its caches
        moved = await until(lambda: bn.ex.bidsasks[SYMBOL]["bid"] == 60100 and bn.ex.bidsasks[SYMBOL], "bookTicker")
        ticker = await until(lambda: bn.ex.tickers[SYMBOL]["last"] == 60105 and bn.ex.tickers[SYMBOL], "miniTicker")
        await asyncio.to_thread(admin, bn.url, "market", {"symbol": SYMBOL, "bid": "60000", "ask": "60010"})
        return first, moved, ticker
    first, moved, ticker = bn.run(scenario())
    assert (first["bid"], first["ask"]) == (60000, 60010)
    assert (moved["bid"], moved["ask"]) == (60100, 60110)
    assert ticker["bid"] is None  # miniTicker: ccxt's watch_ticker carries no bid or ask on Binance


def test_silent_and_closed_sockets(bn):
    async def scenario():
        admin_ = lambda path, body: asyncio.to_thread(admin, bn.url, path, body)  # noqa: E731
        placed = await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 54000, {"clientOrderId": cid()})
        await until(lambda: [o for o in bn.seen.orders if o["id"] == placed["id"]], "NEW")
        await admin_("faults", {"silent": True})
        await admin_("fill", {"orderId": placed["id"], "amount": "0.001"})
        with pytest.raises(TimeoutError):  # the socket is open and says nothing
            await until(lambda: [t for t in bn.seen.trades if t["order"] == placed["id"]], "a trade", timeout=0.3)
        await admin_("faults", {"silent": False, "close_sockets": True})
        await until(lambda: not any(c.subscriptions for c in list(bn.server.conns)), "the sockets closed")
        await until(lambda: any(c.subscriptions for c in list(bn.server.conns)), "ccxt subscribed again")
    bn.run(scenario())


def test_the_websocket_api_refuses_a_bad_signature_in_binances_shape(bn):
    """ccxt hides this answer (see test_bad_credentials_are_authentication_errors), so read it raw."""
    import aiohttp

    async def scenario():
        params = {"apiKey": "key-main", "timestamp": int(time.time() * 1000), "signature": "0" * 64}
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{bn.url}/ws-api/v3") as ws:
            await ws.send_json({"id": "s1", "method": "userDataStream.subscribe.signature", "params": params})
            return await asyncio.wait_for(ws.receive_json(), 5)
    answer = bn.run(scenario())
    assert (answer["id"], answer["status"], answer["error"]) == (
        "s1", 400, {"code": -1022, "msg": "Signature for this request is not valid."})


# Keys of ccxt's recorded spot answers (github.com/ccxt/ccxt ts/src/test/static/response/binance.json:
# createOrder "spot +selfTradePrevention +iceberg" without its iceberg field, fetchOrder "Fetch spot closed
# order", fetchOpenOrders "Fetch spot open orders", fetchOrders "fetch spot orders", fetchMyTrades "Spot
# private trade", fetchBalance "Spot balance"): the double answers with exactly these.
RECORDED_ORDER_KEYS = {"symbol", "orderId", "orderListId", "clientOrderId", "price", "origQty", "executedQty",
                       "cummulativeQuoteQty", "status", "timeInForce", "type", "side", "stopPrice", "icebergQty",
                       "time", "updateTime", "isWorking", "workingTime", "origQuoteOrderQty",
                       "selfTradePreventionMode"}
RECORDED_PLACED_KEYS = {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime", "price", "origQty",
                        "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty", "status", "timeInForce", "type",
                        "side", "workingTime", "fills", "selfTradePreventionMode"}
RECORDED_TRADE_KEYS = {"symbol", "id", "orderId", "orderListId", "price", "qty", "quoteQty", "commission",
                       "commissionAsset", "time", "isBuyer", "isMaker", "isBestMatch"}
RECORDED_ACCOUNT_KEYS = {"makerCommission", "takerCommission", "buyerCommission", "sellerCommission",
                         "commissionRates", "canTrade", "canWithdraw", "canDeposit", "brokered",
                         "requireSelfTradePrevention", "preventSor", "updateTime", "accountType", "balances",
                         "permissions", "uid"}


def test_answers_carry_the_keys_of_ccxts_recorded_payloads(bn):
    async def scenario():
        placed = await bn.ex.create_order(SYMBOL, "limit", "buy", 0.01, 53000, {"clientOrderId": cid()})
        fetched = await bn.ex.fetch_order(placed["id"], SYMBOL)
        listed = await bn.ex.fetch_orders(SYMBOL)
        await bn.ex.cancel_order(placed["id"], SYMBOL)
        bought = await bn.ex.create_order(SYMBOL, "market", "buy", 0.001, None, {"clientOrderId": cid()})
        trades = await bn.ex.fetch_order_trades(bought["id"], SYMBOL)
        balance = await bn.ex.fetch_balance()
        return placed["info"], fetched["info"], listed[-1]["info"], trades[0]["info"], balance["info"]
    placed, fetched, listed, trade, account = bn.run(scenario())
    assert set(placed) == RECORDED_PLACED_KEYS
    assert set(fetched) == set(listed) == RECORDED_ORDER_KEYS
    assert set(trade) == RECORDED_TRADE_KEYS
    assert set(account) == RECORDED_ACCOUNT_KEYS
    assert set(account["balances"][0]) == {"asset", "free", "locked"}


def test_a_key_revoked_after_use_reads_as_a_ban_in_ccxt(bn):
    """Binance answers -2015 for a revoked key and for a temporary ban alike; ccxt, once a private call
    has succeeded, raises DDoSProtection for it (not AuthenticationError). The double gives the same -2015."""
    ex = client(bn.url, "key-rich")

    async def scenario():
        ex.markets, ex.markets_by_id, ex.symbols = bn.ex.markets, bn.ex.markets_by_id, bn.ex.symbols
        await ex.fetch_balance()
        secret = bn.thread.call(bn.server.keys.pop, "key-rich")
        try:
            with pytest.raises(ccxt.DDoSProtection, match="-2015"):
                await ex.fetch_balance()
        finally:
            bn.thread.call(bn.server.keys.__setitem__, "key-rich", secret)
            await ex.close()
    bn.run(scenario())


def test_trade_ids_repeat_across_symbols_as_on_binance(bn):
    """Binance counts trade ids per symbol: an ETH/USDT trade may carry a BTC/USDT trade's id."""
    async def scenario():
        placed = await bn.ex.create_order("ETH/USDT", "market", "buy", 0.01, None, {"clientOrderId": cid()})
        return placed["trades"][0]["id"], await bn.ex.fetch_my_trades(SYMBOL)
    eth_trade, btc_trades = bn.run(scenario())
    assert eth_trade in {t["id"] for t in btc_trades}
