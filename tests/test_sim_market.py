"""The simulator's market: prices that move (walk, set, jump), limit orders filled when the market
reaches them, market orders through POST /v1/orders/market, balances reserved by resting orders, the
trade socket's MARKET_SUMMARY_UPDATE, and the faults of the cancel → market-order path."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from worker.lab.sim import SimConfig
from worker.lab.sim.testing import CREDS, collect, of_type, run_with_sim
from worker.valr import AccountSocket
from worker.valr.trade_ws import TradeSocket

SUMMARY_KEYS = {"currencyPair", "askPrice", "bidPrice", "lastTradedPrice", "previousClosePrice", "baseVolume",
                "quoteVolume", "highPrice", "lowPrice", "created", "changeFromPrevious", "markPrice"}


def statuses(events, order_id):
    return [e.data["orderStatusType"] for e in of_type(events, "ORDER_STATUS_UPDATE") if e.data["orderId"] == order_id]


async def nothing_within(sock, seconds: float) -> bool:
    try:
        await collect(sock, lambda ev: len(ev) >= 1, timeout=seconds)
    except asyncio.TimeoutError:
        return True
    return False


def final(kind):
    """until(): an ORDER_STATUS_UPDATE of this status has arrived."""
    return lambda events: any(e.data.get("orderStatusType") == kind for e in of_type(events, "ORDER_STATUS_UPDATE"))


def test_market_summary_over_rest_and_the_trade_socket_on_subscription_and_on_every_change():
    async def body(sim, client):
        summary = await client.market_summary("BTCZAR")
        assert set(summary) == SUMMARY_KEYS and summary["currencyPair"] == "BTCZAR"
        assert Decimal(summary["bidPrice"]) < Decimal(summary["askPrice"])
        async with TradeSocket(sim.base_url, CREDS) as sock:
            await sock.subscribe(["BTCZAR", "ETHZAR"])
            first = await collect(sock, lambda ev: {e.data["currencyPair"] for e in ev} == {"BTCZAR", "ETHZAR"})
            assert all(e.raw["currencyPairSymbol"] == e.data["currencyPair"] for e in first)
            assert {e.type for e in first} == {"MARKET_SUMMARY_UPDATE"}
            sim.set_market("BTCZAR", bid="1000000", ask="1000100")
            moved = await collect(sock, lambda ev: len(ev) >= 1)
            assert (moved[0].data["bidPrice"], moved[0].data["askPrice"]) == ("1000000", "1000100")
            await sock.subscribe([])  # unsubscribe: no more summaries
            await asyncio.sleep(0.1)  # the simulator reads the SUBSCRIBE
            sim.set_market("BTCZAR", jump="0.01")
            assert await nothing_within(sock, 0.3)
        assert sim.rest_counts["GET /v1/public/{pair}/marketsummary"] == 1
    run_with_sim(body)


def test_manual_mode_market_stands_still_and_a_limit_fills_only_when_the_price_reaches_it():
    async def body(sim, client):
        before = sim.market.quotes["SOLZAR"].summary()
        sim.market.set("SOLZAR", bid=Decimal("3000"), ask=Decimal("3002"))
        async with AccountSocket(sim.base_url, CREDS, "5") as sock:
            placed = await client.place_limit_order("5", pair="SOLZAR", side="BUY", quantity=Decimal("2"),
                                                    price=Decimal("2990"), customer_order_id="rest-1")
            await collect(sock, final("Placed"))
            await asyncio.sleep(0.3)
            assert sim.market.quotes["SOLZAR"].ask == Decimal("3002")  # no walk in manual mode
            sim.set_market("SOLZAR", ask="2995", bid="2993")           # not low enough yet
            sim.set_market("SOLZAR", depth="0.5")                      # a move offers 0.5 at a time
            sim.set_market("SOLZAR", ask="2990", bid="2988")           # reaches it: a partial fill
            events = await collect(sock, final("Partially Filled"))
            trade = of_type(events, "NEW_ACCOUNT_TRADE")[0].data
            assert (trade["price"], trade["quantity"], trade["orderId"]) == ("2990", "0.5", placed.id)
            sim.set_market("SOLZAR", depth=None, ask="2989", bid="2987")  # all of the rest
            events = await collect(sock, final("Filled"))
        assert sim.truth()["orders"][0]["filledQuantity"] == "2"
        assert sim.market.quotes["SOLZAR"].last == Decimal("2990")
        assert before["currencyPair"] == "SOLZAR"
    run_with_sim(body)


def test_market_order_fills_at_once_in_several_trades_and_the_rest_is_cancelled_due_to_slippage():
    async def body(sim, client):
        # 0.1 BTC per level, each level 0.05 % worse, a 0.1 % band: three levels, 0.3 BTC at most.
        sim.set_market("BTCZAR", bid="999000", ask="1000000", level_qty="0.1", level_step="0.0005",
                       slippage_band="0.001")
        async with AccountSocket(sim.base_url, CREDS, "") as sock:
            placed = await client.place_market_order("", pair="BTCZAR", side="BUY", base_amount=Decimal("0.5"),
                                                     customer_order_id="mkt-1")
            events = await collect(sock, final("Partially Filled and Cancelled Due To Slippage"))
            trades = [e.data for e in of_type(events, "NEW_ACCOUNT_TRADE")]
            assert [(t["price"], t["quantity"]) for t in trades] == [
                ("1000000", "0.1"), ("1000500", "0.1"), ("1001000", "0.1")]
            assert statuses(events, placed.id) == ["Partially Filled", "Partially Filled", "Partially Filled",
                                                   "Partially Filled and Cancelled Due To Slippage"]
            last = of_type(events, "ORDER_STATUS_UPDATE")[-1].data
            assert (last["orderType"], last["originalPrice"], last["timeInForce"]) == ("market", "0", "IOC")
            assert last["remainingQuantity"] == "0.2"
            assert of_type(events, "ORDER_PROCESSED")[0].data["success"] is True
            status = await client.order_status("", "BTCZAR", customer_order_id="mkt-1")
            assert status["orderStatusType"] == "Partially Filled and Cancelled Due To Slippage"
            # A SELL within the liquidity fills completely at the bid, in one trade.
            sold = await client.place_market_order("", pair="BTCZAR", side="SELL", base_amount=Decimal("0.05"),
                                                   customer_order_id="mkt-2")
            events = await collect(sock, final("Filled"))
            assert [(t.data["price"], t.data["orderId"]) for t in of_type(events, "NEW_ACCOUNT_TRADE")] == [
                ("999000", sold.id)]
        assert sim.market.quotes["BTCZAR"].last == Decimal("999000")
    run_with_sim(body)


def test_market_order_beyond_the_slippage_band_fails_with_valrs_reason():
    async def body(sim, client):
        sim.set_market("ETHZAR", bid="40000", ask="40010", level_qty="1", level_step="0.01", slippage_band="0.001")
        sim.set_market("ETHZAR", ask="40010")
        async with AccountSocket(sim.base_url, CREDS, "") as sock:
            # quoteAmount: spends ZAR, the quantity follows from the price.
            await client._request("POST", "/v1/orders/market", "POST /v1/orders/market", "",
                                  body={"side": "BUY", "quoteAmount": "20005", "pair": "ETHZAR",
                                        "customerOrderId": "q-1"}, placement=True)
            events = await collect(sock, final("Filled"))
            assert of_type(events, "NEW_ACCOUNT_TRADE")[0].data["quantity"] == "0.5"
    run_with_sim(body)


def test_funds_reserved_by_a_resting_limit_refuse_a_market_order_until_its_cancel_completes():
    async def body(sim, client):
        sim.set_balance("9", "ZAR", "1200")
        sim.set_market("BTCZAR", bid="999000", ask="1000000")
        async with AccountSocket(sim.base_url, CREDS, "9") as sock:
            await client.place_limit_order("9", pair="BTCZAR", side="BUY", quantity=Decimal("0.001"),
                                           price=Decimal("990000"), customer_order_id="limit-1")
            await collect(sock, final("Placed"))
            assert sim.exchange.balances.truth("9")["ZAR"] == {"total": "1200", "reserved": "990", "available": "210"}
            await sim.set_faults(cancel_delay_ms=300)
            await client.cancel_order("9", "BTCZAR", customer_order_id="limit-1")
            early = await client.place_market_order("9", pair="BTCZAR", side="BUY", base_amount=Decimal("0.001"),
                                                    customer_order_id="market-1")
            events = await collect(sock, lambda ev: final("Failed")(ev) and final("Cancelled")(ev))
            failed = [e.data for e in of_type(events, "ORDER_STATUS_UPDATE") if e.data["orderId"] == early.id]
            assert [(f["orderStatusType"], f["failedReason"]) for f in failed] == [("Failed", "Insufficient Balance")]
            processed = [e.data for e in of_type(events, "ORDER_PROCESSED") if e.data["orderId"] == early.id]
            assert processed[0]["success"] is False and processed[0]["failureReason"] == "Insufficient Balance"
            assert sim.exchange.balances.truth("9")["ZAR"]["reserved"] == "0"
            # Once the cancel completed, the same market order goes through.
            await client.place_market_order("9", pair="BTCZAR", side="BUY", base_amount=Decimal("0.001"),
                                            customer_order_id="market-2")
            await collect(sock, final("Filled"))
        money = sim.exchange.balances.truth("9")
        assert money["ZAR"] == {"total": "200", "reserved": "0", "available": "200"}
        assert Decimal(money["BTC"]["total"]) == Decimal("1000000") + Decimal("0.001") * Decimal("0.999")
    run_with_sim(body)


def test_a_fill_racing_the_cancel_and_a_lost_cancel_answer():
    async def body(sim, client):
        async with AccountSocket(sim.base_url, CREDS, "") as sock:
            await client.place_limit_order("", pair="XRPZAR", side="SELL", quantity=Decimal("10"),
                                           price=Decimal("20"), customer_order_id="race-1")
            await collect(sock, final("Placed"))
            await sim.set_faults(fill_before_cancel=1)
            await client.cancel_order("", "XRPZAR", customer_order_id="race-1")
            events = await collect(sock, lambda ev: bool(of_type(ev, "FAILED_CANCEL_ORDER")))
            assert final("Filled")(events) and not final("Cancelled")(events)
            await client.place_limit_order("", pair="XRPZAR", side="SELL", quantity=Decimal("10"),
                                           price=Decimal("20"), customer_order_id="lost-1")
            await collect(sock, final("Placed"))
            await sim.set_faults(lose_cancel_answers=1)
            try:
                await client.cancel_order("", "XRPZAR", customer_order_id="lost-1")
                raise AssertionError("the cancel's answer should have been lost")
            except Exception as exc:  # TransportError: no answer
                assert "no answer" in str(exc)
            await collect(sock, final("Cancelled"))  # carried out all the same
    run_with_sim(body)


def test_trade_socket_faults_silent_and_dropped_and_a_price_jump():
    async def body(sim, client):
        async with TradeSocket(sim.base_url, CREDS) as sock:
            await sock.subscribe(["BTCZAR"])
            await collect(sock, lambda ev: len(ev) >= 1)
            await sim.set_faults(trade_silent=True)
            sim.set_market("BTCZAR", jump="-0.05")
            assert await nothing_within(sock, 0.3)
            await sim.set_faults(trade_silent=False)
            sim.set_market("BTCZAR", jump="0.10")
            jumped = await collect(sock, lambda ev: len(ev) >= 1)
            assert Decimal(jumped[0].data["askPrice"]) > Decimal("1150000")
            await sim.set_faults(close_trade_sockets=True)
            try:
                await collect(sock, lambda ev: False, timeout=2)
                raise AssertionError("the trade socket should have dropped")
            except Exception as exc:
                assert "closed" in str(exc) or "dropped" in str(exc)
    run_with_sim(body)


def test_a_muted_pair_is_left_out_of_the_trade_feed_and_a_spike_is_one_frame_then_the_market_again():
    async def body(sim, client):
        async with TradeSocket(sim.base_url, CREDS) as sock:
            await sock.subscribe(["BTCZAR", "ETHZAR"])
            await collect(sock, lambda ev: len(ev) >= 2)
            await sim.set_faults(trade_muted_pairs=["btczar"])
            sim.set_market("BTCZAR", jump="0.01")
            sim.set_market("ETHZAR", jump="0.01")
            streamed = await collect(sock, lambda ev: len(ev) >= 1)
            assert [e.data["currencyPair"] for e in streamed] == ["ETHZAR"]
            assert await nothing_within(sock, 0.3)
            assert sim.counters()["trade_summaries_sent"] == {"BTCZAR": 1, "ETHZAR": 2}  # what was written, per pair
            assert (await client.market_summary("BTCZAR"))["currencyPair"] == "BTCZAR"  # REST still answers
            await sim.set_faults(trade_muted_pairs=[])
            before = sim.market.quotes["BTCZAR"].ask
            spiked = sim.set_market("BTCZAR", spike="0.03", spike_ms=20)
            frames = await collect(sock, lambda ev: len(ev) >= 2)
            assert [Decimal(e.data["askPrice"]) for e in frames] == [Decimal(spiked["askPrice"]), before]
            assert Decimal(spiked["askPrice"]) > before and sim.spike_reverts[-1]["ask"] == str(before)
    run_with_sim(body)


def test_market_mode_walks_the_price_seeded_and_fills_what_it_reaches():
    config = SimConfig(mode="market", market_step_s=0.01, market_volatility=0.002, seed=3)

    async def body(sim, client):
        start = sim.market.quotes["BTCZAR"].mid
        async with TradeSocket(sim.base_url, CREDS) as sock:
            await sock.subscribe(["BTCZAR"])
            seen = await collect(sock, lambda ev: len({e.data["askPrice"] for e in ev}) >= 5)
        assert len({e.data["askPrice"] for e in seen}) >= 5
        assert sim.market.quotes["BTCZAR"].mid != start
        # A limit priced through the market trades at once, at the market's price.
        ask = sim.market.quotes["ETHZAR"].ask
        async with AccountSocket(sim.base_url, CREDS, "") as acct:
            await client.place_limit_order("", pair="ETHZAR", side="BUY", quantity=Decimal("0.1"),
                                           price=ask + 1000, customer_order_id="through-1")
            events = await collect(acct, final("Filled"))
            assert Decimal(of_type(events, "NEW_ACCOUNT_TRADE")[0].data["price"]) < ask + 1000
    run_with_sim(body, config=config)


def test_admin_market_and_balances_over_http():
    async def body(sim, client):
        async with httpx.AsyncClient() as http:
            answer = await http.post(sim.base_url + "/_sim/market", json={"pair": "BTCZAR", "mid": "2000000"})
            assert answer.status_code == 200 and Decimal(answer.json()["bidPrice"]) < 2000000
            bad = await http.post(sim.base_url + "/_sim/market", json={"pair": "BTCZAR", "bid": "5", "ask": "4"})
            assert bad.status_code == 400
            money = await http.post(sim.base_url + "/_sim/balances",
                                    json={"subaccountId": "3", "currency": "ZAR", "total": "10"})
            assert money.json()["ZAR"] == {"total": "10", "reserved": "0", "available": "10"}
    run_with_sim(body)


def test_stamp_frames_logs_each_summary_sent_and_each_request_received_with_the_order_it_names():
    """What figure 8 of the bench times the fallback with (simulator-side send and arrival stamps)."""
    async def body(sim, client):
        async with TradeSocket(sim.base_url, CREDS) as sock:
            await sock.subscribe(["BTCZAR"])
            await collect(sock, lambda ev: len(ev) >= 1)
            sim.set_market("BTCZAR", bid="1000000", ask="1000100")
            await collect(sock, lambda ev: len(ev) >= 1)
        placed = await client.place_limit_order("71", pair="BTCZAR", side="BUY", quantity=Decimal("0.0001"),
                                                price=Decimal("990000"), customer_order_id="stamp-1")
        await client.cancel_order("71", "BTCZAR", order_id=placed.id)
        summaries = sim.trade_frames()
        assert [(f["pair"], f["ask"]) for f in summaries][-1] == ("BTCZAR", "1000100")
        assert len({f["socket"] for f in summaries}) == 1 and all(f["peer_port"] for f in summaries)
        requests = [(r["route"], r["subaccountId"], r.get("customerOrderId"), r.get("orderId"))
                    for r in sim.requests()]
        assert requests == [("POST /v1/orders/limit", "71", "stamp-1", None),
                            ("DELETE /v1/orders/order", "71", None, placed.id)]
        assert all(r["received_at"] >= summaries[-1]["sent_at"] for r in sim.requests())
    run_with_sim(body, config=SimConfig(stamp_frames=True))
