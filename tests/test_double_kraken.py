"""The Kraken double driven by unmodified ccxt (`ccxt.pro.kraken`, pointed at it with `point_at`) over real
sockets: markets, signed REST, our client order id (`cl_ord_id`) where Kraken echoes it, fills reaching
watch_orders / watch_my_trades in Kraken's order, cancels with fills, reserved funds, Kraken's error words
as ccxt maps them, the faults, the ledger, and the ticker. One double per module; each test its own API
key (an account of its own, and a nonce sequence of its own: Kraken refuses a nonce not above the key's
last, so two ccxt instances must not share a key)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import ccxt
import ccxt.pro
import pytest

from tests.support.inprocess import eventually
from worker.exchanges.urls import point_at
from worker.lab.demo_exchanges import start_venue
from worker.lab.doubles.kraken import kraken_double
from worker.lab.doubles.server import DoubleThread

KRAKEN_ID = re.compile(r"^[A-Z][A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}$")
# the keys of the payloads ccxt records for Kraken (ts/src/test/static/response/kraken.json)
RECORDED_ORDER_KEYS = {"refid", "userref", "status", "opentm", "starttm", "expiretm", "descr", "vol", "vol_exec",
                       "cost", "fee", "price", "stopprice", "limitprice", "misc", "oflags", "reason"}
RECORDED_DESCR_KEYS = {"pair", "type", "ordertype", "price", "price2", "leverage", "order", "close"}
BTC_USD = {"symbol": "BTC/USD", "bid": "60000.0", "ask": "60000.1"}  # the default book, restored after a move
RECORDED_DEPOSIT_KEYS = {"method", "aclass", "asset", "refid", "txid", "info", "amount", "fee", "time", "status"}


@pytest.fixture(scope="module")
def double():
    with DoubleThread(kraken_double({})) as running:
        yield running


def new_key(double: DoubleThread) -> tuple[str, str]:
    key, secret = secrets.token_urlsafe(16), base64.b64encode(secrets.token_bytes(64)).decode()
    double.server.keys[key] = secret
    return key, secret


@asynccontextmanager
async def kraken(double: DoubleThread, key: str | None = None, secret: str | None = None):
    if key is None:
        key, secret = new_key(double)
    # ccxt's throttle stays on, as the worker runs it, at a pace for tests (Kraken's is one call a second)
    ex = point_at(ccxt.pro.kraken({"apiKey": key, "secret": secret, "enableRateLimit": True, "rateLimit": 5}),
                  double.base_url)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


async def admin(double: DoubleThread, path: str, **body) -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{double.base_url}/_double/{path}", json=body) as response:
            return await response.json()


def run(scenario: Callable[[], Awaitable[object]]) -> object:
    return asyncio.run(asyncio.wait_for(scenario(), 20))


async def subscribed(double: DoubleThread, key: str, channel: str = "executions") -> None:
    """Waits until the double holds a socket following `key`'s account on `channel`."""
    def follows() -> bool:
        return double.call(lambda: any(getattr(c, channel) == key for c in double.server.conns))
    await eventually(follows, timeout=5, what=f"a {channel} subscription")


async def collect(watch: Callable[[], Awaitable[list]], done: Callable[[list], bool], seen: list) -> list:
    """Calls a ccxt watch method until what it returned so far satisfies `done`."""
    while not done(seen):
        seen.extend(await asyncio.wait_for(watch(), 5))
    return seen


def test_markets_load_with_krakens_ids_and_rules(double):
    async def scenario():
        async with kraken(double) as ex:
            market = ex.market("BTC/USD")
            assert (market["id"], market["altname"], market["wsId"]) == ("XXBTZUSD", "XBTUSD", "XBT/USD")
            assert market["precision"] == {"amount": 1e-08, "price": 0.1}
            assert market["limits"]["amount"]["min"] == 0.00005
            assert {"BTC/USDT", "ETH/USDT", "BTC/USDC"} <= set(ex.symbols)
            assert await ex.fetch_time() > 0
    run(scenario)


def test_limit_order_rests_and_comes_back_with_our_client_order_id(double):
    async def scenario():
        async with kraken(double) as ex:
            cid = str(uuid.uuid4())
            placed = await ex.create_order("BTC/USD", "limit", "buy", 0.01, 59000, {"clientOrderId": cid})
            assert KRAKEN_ID.match(placed["id"]) and placed["id"].startswith("O")
            assert placed["clientOrderId"] is None          # AddOrder's answer does not echo cl_ord_id
            fetched = await ex.fetch_order(placed["id"])
            assert (fetched["clientOrderId"], fetched["status"], fetched["amount"]) == (cid, "open", 0.01)
            mine = await ex.fetch_open_orders(params={"clientOrderId": cid})
            assert [(o["id"], o["clientOrderId"]) for o in mine] == [(placed["id"], cid)]
            balance = await ex.fetch_balance()
            assert balance["USD"]["used"] == pytest.approx(590.0)   # reserved by the resting order
            snapshot = await ex.watch_orders()           # the executions snapshot: open orders, full detail
            assert [(o["id"], o["status"], o["info"]["cl_ord_id"]) for o in snapshot] == [(placed["id"], "open", cid)]
            raw = await ex.private_post_queryorders({"txid": placed["id"]})
            body = raw["result"][placed["id"]]
            assert RECORDED_ORDER_KEYS <= set(body) and RECORDED_DESCR_KEYS <= set(body["descr"])
            assert set(raw["result"]) == {placed["id"]}
    run(scenario)


def test_fills_reach_watch_my_trades_then_watch_orders_in_krakens_order(double):
    async def scenario():
        key, secret = new_key(double)
        async with kraken(double, key, secret) as ex:
            cid = str(uuid.uuid4())
            placed = await ex.create_order("BTC/USD", "limit", "buy", 0.01, 59000, {"clientOrderId": cid})
            trades, orders = [], []
            trades_task = asyncio.ensure_future(collect(ex.watch_my_trades, lambda s: len(s) >= 2, trades))
            await subscribed(double, key)
            await admin(double, "fill", orderId=placed["id"], account=key, amount="0.004")
            await eventually(lambda: trades, timeout=5, what="the first fill on watch_my_trades")
            orders_task = asyncio.ensure_future(
                collect(ex.watch_orders, lambda s: any(o["status"] == "closed" for o in s), orders))
            await admin(double, "market", symbol="BTC/USD", bid="58000.0", ask="58999.0")
            await asyncio.gather(trades_task, orders_task)
            await admin(double, "market", **BTC_USD)
            assert [(t["order"], t["amount"], t["takerOrMaker"]) for t in trades] == \
                [(placed["id"], 0.004, "maker"), (placed["id"], 0.006, "maker")]
            assert all(t["fee"]["currency"] == "USD" and KRAKEN_ID.match(t["id"]) for t in trades)
            closed = next(o for o in orders if o["status"] == "closed")
            # a completion event carries ids and cumulative figures only; our id is in info, not clientOrderId
            assert (closed["id"], closed["info"]["cl_ord_id"], closed["info"]["cum_qty"]) == (placed["id"], cid, 0.01)
            assert closed["clientOrderId"] == "0" and closed["symbol"] is None
            order = await ex.fetch_order(placed["id"])
            rest = await ex.fetch_order_trades(placed["id"], params={"trades": order["trades"]})
            assert sorted(t["id"] for t in rest) == sorted(t["id"] for t in trades)
            history = await ex.fetch_my_trades("BTC/USD")
            assert {t["id"] for t in trades} <= {t["id"] for t in history if t["order"] == placed["id"]}
            assert (order["status"], order["filled"], order["clientOrderId"]) == ("closed", 0.01, cid)
    run(scenario)


def test_cancel_after_a_fill_is_canceled_with_its_fill(double):
    async def scenario():
        key, secret = new_key(double)
        async with kraken(double, key, secret) as ex:
            placed = await ex.create_order("BTC/USD", "limit", "sell", 0.01, 61000, {"clientOrderId": str(uuid.uuid4())})
            orders: list = []
            task = asyncio.ensure_future(collect(ex.watch_orders, lambda s: any(o["status"] == "canceled" for o in s), orders))
            await subscribed(double, key)
            await admin(double, "fill", orderId=placed["id"], account=key, amount="0.003")
            await ex.cancel_order(placed["id"])
            await task
            canceled = next(o for o in orders if o["status"] == "canceled")
            assert (canceled["info"]["cum_qty"], canceled["info"]["reason"]) == (0.003, "User requested")
            # Kraken's cancel event has no symbol or order_qty: ccxt reports what executed as `amount`
            assert (canceled["symbol"], canceled["amount"], canceled["filled"]) == (None, 0.003, None)
            fetched = await ex.fetch_order(placed["id"])
            assert (fetched["status"], fetched["filled"], fetched["remaining"]) == ("canceled", 0.003, 0.007)
            with pytest.raises(ccxt.OrderNotFound):
                await ex.cancel_order(placed["id"])   # a closed order is unknown to CancelOrder
    run(scenario)


def test_market_order_takes_the_touch_and_pays_its_fee_in_quote(double):
    async def scenario():
        async with kraken(double) as ex:
            placed = await ex.create_order("BTC/USDT", "market", "buy", 0.02, None, {"clientOrderId": str(uuid.uuid4())})
            order = await ex.fetch_order(placed["id"])
            ask = double.server.exchange.markets["BTC/USDT"].ask
            assert (order["status"], order["filled"], order["average"]) == ("closed", 0.02, float(ask))
            assert order["fee"]["currency"] == "USDT" and float(order["fee"]["cost"]) > 0
            # fciq: the bitcoin arrives whole, the fee is taken from the dollars (the ledger shows both)
            lines = {e["currency"]: e for e in await ex.fetch_ledger(params={"asset": "XXBT,USDT"})}
            assert (lines["BTC"]["amount"], lines["BTC"]["fee"]["cost"]) == (0.02, 0.0)
            assert lines["USDT"]["fee"]["cost"] == pytest.approx(float(order["fee"]["cost"]), abs=1e-4)
    run(scenario)


def test_market_order_refused_while_a_resting_order_holds_the_funds(double):
    async def scenario():
        key, secret = new_key(double)
        await admin(double, "withdraw", account=key, currency="USD", amount="99900000")  # 100,000 USD left
        async with kraken(double, key, secret) as ex:
            await admin(double, "market", **BTC_USD)
            resting = await ex.create_order("BTC/USD", "limit", "buy", 1.6, 59000)
            with pytest.raises(ccxt.InsufficientFunds, match="EOrder:Insufficient funds"):
                await ex.create_order("BTC/USD", "market", "buy", 0.2)
            await ex.cancel_order(resting["id"])
            placed = await ex.create_order("BTC/USD", "market", "buy", 0.2)
            assert (await ex.fetch_order(placed["id"]))["status"] == "closed"
    run(scenario)


def test_client_order_id_unique_among_open_orders_only(double):
    async def scenario():
        async with kraken(double) as ex:
            cid = str(uuid.uuid4())
            first = await ex.create_order("BTC/USD", "limit", "buy", 0.01, 50000, {"clientOrderId": cid})
            with pytest.raises(ccxt.ExchangeError, match="EOrder:Duplicate cl_ord_id"):
                await ex.create_order("BTC/USD", "limit", "buy", 0.01, 50000, {"clientOrderId": cid})
            await ex.cancel_order(first["id"])
            again = await ex.create_order("BTC/USD", "limit", "buy", 0.01, 50000, {"clientOrderId": cid})
            assert again["id"] != first["id"]                    # Kraken places it twice once the first closed
            closed = await ex.fetch_closed_orders(params={"clientOrderId": cid})
            assert [o["id"] for o in closed] == [first["id"]]
            with pytest.raises(ccxt.ExchangeError, match="Invalid arguments:cl_ord_id"):
                await ex.create_order("BTC/USD", "limit", "buy", 0.01, 50000, {"clientOrderId": "x" * 19})
    run(scenario)


def test_order_rules_from_asset_pairs(double):
    async def scenario():
        async with kraken(double) as ex:
            with pytest.raises(ccxt.InvalidOrder, match="EOrder:Order minimum not met"):
                await ex.create_order("BTC/USD", "limit", "buy", 0.00004, 50000)
            with pytest.raises(ccxt.ExchangeError, match="EOrder:Cost minimum not met"):
                await ex.create_order("BTC/USD", "limit", "buy", 0.00005, 5000)
            # ccxt rounds to the tick itself; a price sent as is gets Kraken's own words back
            with pytest.raises(ccxt.ExchangeError, match="price can only be specified up to 1 decimals"):
                await ex.private_post_addorder({"pair": "XXBTZUSD", "type": "buy", "ordertype": "limit",
                                                "volume": "0.01", "price": "50000.05"})
            assert await ex.fetch_open_orders() == []
    run(scenario)


def test_signing_refusals_in_krakens_words(double):
    async def scenario():
        key, secret = new_key(double)
        async with kraken(double, "no-such-key", secret) as ex:
            with pytest.raises(ccxt.AuthenticationError, match="EAPI:Invalid key"):
                await ex.fetch_balance()
        wrong = base64.b64encode(secrets.token_bytes(64)).decode()
        async with kraken(double, key, wrong) as ex:
            # Kraken's word for a wrong secret; ccxt maps no exception to it
            with pytest.raises(ccxt.ExchangeError, match="EAPI:Invalid signature") as raised:
                await ex.fetch_balance()
            assert not isinstance(raised.value, ccxt.AuthenticationError)
        async with kraken(double, key, secret) as ex:
            await ex.fetch_balance()
            ex.options["lastNonce"] = 0
            ex.nonce = lambda: 1                                   # below the key's last accepted nonce
            with pytest.raises(ccxt.InvalidNonce, match="EAPI:Invalid nonce"):
                await ex.fetch_balance()
    run(scenario)


def test_rate_limit_answers_krakens_words(double):
    async def scenario():
        async with kraken(double) as ex:
            await admin(double, "faults", rate_limit=2)
            with pytest.raises(ccxt.DDoSProtection, match="EAPI:Rate limit exceeded"):
                await ex.fetch_balance()
            with pytest.raises(ccxt.DDoSProtection, match="EOrder:Rate limit exceeded"):
                await ex.create_order("BTC/USD", "limit", "buy", 0.01, 50000)
            assert (await ex.fetch_balance())["BTC"]["total"] == 1000
    run(scenario)


def test_the_call_counter_refuses_past_its_ceiling():
    key, secret = "counted", base64.b64encode(b"k" * 64).decode()
    with DoubleThread(kraken_double({key: secret}, counter=(2, 0.001))) as tight:
        async def scenario():
            async with kraken(tight, key, secret) as ex:
                await ex.fetch_balance()
                await ex.fetch_open_orders()
                with pytest.raises(ccxt.DDoSProtection, match="EAPI:Rate limit exceeded"):
                    await ex.fetch_balance()
        run(scenario)


def test_the_labs_paced_double_holds_a_worker_to_krakens_starter_counter():
    """Where the lab runs the worker's Kraken throttle fast (KRAKEN_RATE_LIMIT_MS), its double enforces
    Kraken's counter for a key of that pace (Pro: twenty calls in a burst, then one a second); a worker
    faster than that is refused as Kraken would refuse it."""
    with contextlib.ExitStack() as stack:
        venue = start_venue(stack, "kraken", paced=True)
        assert venue.env["KRAKEN_RATE_LIMIT_MS"] == "100"

        async def scenario():
            async with kraken(venue.double, venue.key, venue.double.server.keys[venue.key]) as ex:
                started, answered = asyncio.get_running_loop().time(), 0
                with pytest.raises(ccxt.DDoSProtection, match="EAPI:Rate limit exceeded"):
                    for _ in range(100):
                        await ex.fetch_open_orders()
                        answered += 1
                decayed = 1.0 * (asyncio.get_running_loop().time() - started)
                assert 20 <= answered <= 20 + decayed + 1, (answered, decayed)
        run(scenario)


def test_unknown_orders(double):
    async def scenario():
        async with kraken(double) as ex:
            with pytest.raises(ccxt.OrderNotFound, match="EOrder:Unknown order"):
                await ex.cancel_order("OAAAAA-BBBBB-CCCCCC")
            with pytest.raises(ccxt.InvalidOrder, match="EOrder:Invalid order"):
                await ex.fetch_order("OAAAAA-BBBBB-CCCCCC")
            # QueryOrders takes no cl_ord_id: ccxt sends our id as userref, which must be an integer
            with pytest.raises(ccxt.ExchangeError, match="Invalid arguments:userref"):
                await ex.fetch_order("OAAAAA-BBBBB-CCCCCC", params={"clientOrderId": str(uuid.uuid4())})
            assert await ex.fetch_open_orders(params={"clientOrderId": str(uuid.uuid4())}) == []
    run(scenario)


def test_lost_placement_answer_leaves_the_order_findable_by_our_id(double):
    async def scenario():
        async with kraken(double) as ex:
            cid = str(uuid.uuid4())
            await admin(double, "faults", lose_placement_answers=1)
            with pytest.raises(ccxt.NetworkError):
                await ex.create_order("BTC/USD", "limit", "buy", 0.01, 50000, {"clientOrderId": cid})
            found = await ex.fetch_open_orders(params={"clientOrderId": cid})
            assert [o["clientOrderId"] for o in found] == [cid]
    run(scenario)


def test_deposit_reaches_ledger_deposits_and_the_balance_stream(double):
    async def scenario():
        key, secret = new_key(double)
        async with kraken(double, key, secret) as ex:
            balances = asyncio.ensure_future(ex.watch_balance())
            await subscribed(double, key, "balances")
            first = await balances                                  # the snapshot
            assert first["BTC"]["total"] == 1000
            update = asyncio.ensure_future(ex.watch_balance())
            await admin(double, "deposit", account=key, currency="BTC", amount="0.5")
            assert (await update)["BTC"]["total"] == 1000.5
            deposits = await ex.fetch_deposits("BTC")
            assert [(d["currency"], d["amount"], d["status"]) for d in deposits] == [("BTC", 0.5, "ok")]
            assert RECORDED_DEPOSIT_KEYS <= set(deposits[0]["info"])
            ledger = await ex.fetch_ledger("BTC")
            assert [(e["type"], e["amount"], e["referenceId"], e["after"]) for e in ledger] == \
                [("transaction", 0.5, deposits[0]["id"], 1000.5)]
            assert KRAKEN_ID.match(ledger[0]["id"]) and ledger[0]["id"].startswith("L")
    run(scenario)


def test_ticker_stream_follows_the_market(double):
    async def scenario():
        async with kraken(double) as ex:
            first = await ex.watch_ticker("ETH/USD")
            assert first["bid"] < first["ask"]
            moved = asyncio.ensure_future(ex.watch_ticker("ETH/USD"))
            await admin(double, "market", symbol="ETH/USD", bid="3100.00", ask="3100.50")
            ticker = await moved
            assert (ticker["bid"], ticker["ask"]) == (3100.0, 3100.5)
            bidask = await ex.watch_bids_asks(["ETH/USDT"])
            assert bidask["ETH/USDT"]["ask"] > bidask["ETH/USDT"]["bid"]
    run(scenario)


def test_socket_faults_close_and_silence(double):
    async def scenario():
        async with kraken(double) as ex:
            await ex.watch_ticker("BTC/USDC")
            pending = asyncio.ensure_future(ex.watch_ticker("BTC/USDC"))
            await admin(double, "faults", close_sockets=True)
            with pytest.raises(ccxt.NetworkError):
                await pending
        async with kraken(double) as ex:
            await ex.watch_ticker("BTC/USDC")
            await admin(double, "faults", silent=True)
            try:
                quiet = asyncio.ensure_future(ex.watch_ticker("BTC/USDC"))
                await admin(double, "market", symbol="BTC/USDC", bid="61000.00", ask="61000.01")
                done, _ = await asyncio.wait({quiet}, timeout=0.3)
                assert not done                                # the socket is open and says nothing
            finally:
                await admin(double, "faults", reset=True)
                quiet.cancel()
    run(scenario)
