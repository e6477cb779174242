"""Binance's JSON shapes for the double's orders, trades, balances and markets (spot API, /api/v3 and the
user data stream). Every shape follows Binance's published examples (developers.binance.com, spot REST
"Trading endpoints" / "Account endpoints", "User Data Stream"), checked against ccxt's recorded responses
(the static test responses in ccxt's repository; tests/test_double_binance.py compares the keys):
numbers as 8-decimal strings, ids as integers, times in ms."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timezone
from decimal import Decimal

from worker.lab.doubles.core import CANCELED, CLOSED, EXPIRED, OPEN, REJECTED, Balance, Market, Order, Trade, now_ms

STATUS = {CLOSED: "FILLED", CANCELED: "CANCELED", EXPIRED: "EXPIRED", REJECTED: "REJECTED"}
ALPHABET = string.ascii_letters + string.digits


def d8(value: Decimal | None) -> str:
    """Binance prints every amount with 8 decimals: '0.10264410'."""
    return f"{(value or Decimal(0)):.8f}"


def symbol_id(symbol: str) -> str:
    return symbol.replace("/", "")


def generated_client_id() -> str:
    """What Binance makes when a request sends no newClientOrderId: 22 letters and digits."""
    return "".join(secrets.choice(ALPHABET) for _ in range(22))


def status_of(order: Order) -> str:
    if order.status == OPEN:
        return "PARTIALLY_FILLED" if order.filled else "NEW"
    return STATUS[order.status]


def order_view(order: Order) -> dict:
    """GET /api/v3/order, openOrders, allOrders."""
    return {
        "symbol": symbol_id(order.symbol), "orderId": int(order.id), "orderListId": -1,
        "clientOrderId": order.client_id, "price": d8(order.price), "origQty": d8(order.amount),
        "executedQty": d8(order.filled), "cummulativeQuoteQty": d8(order.cost), "status": status_of(order),
        "timeInForce": "GTC", "type": order.type.upper(), "side": order.side.upper(), "stopPrice": d8(None),
        "icebergQty": d8(None), "time": order.created_ms, "updateTime": order.updated_ms,
        "isWorking": True, "workingTime": order.created_ms, "origQuoteOrderQty": d8(None),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def placed_view(order: Order, trades: list[Trade], response_type: str = "FULL") -> dict:
    """POST /api/v3/order: ACK (ids only), RESULT (the order) or FULL (with its fills so far: what ccxt
    asks)."""
    view = {
        "symbol": symbol_id(order.symbol), "orderId": int(order.id), "orderListId": -1,
        "clientOrderId": order.client_id, "transactTime": order.created_ms, "price": d8(order.price),
        "origQty": d8(order.amount), "executedQty": d8(order.filled), "origQuoteOrderQty": d8(None),
        "cummulativeQuoteQty": d8(order.cost), "status": status_of(order),
        "timeInForce": "GTC", "type": order.type.upper(),
        "side": order.side.upper(), "workingTime": order.created_ms,
        "fills": [{"price": d8(t.price), "qty": d8(t.amount), "commission": d8(t.fee),
                   "commissionAsset": t.fee_currency, "tradeId": int(t.id)} for t in trades],
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }
    if response_type == "ACK":
        return {k: view[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")}
    if response_type == "RESULT":
        del view["fills"]
    return view


def cancelled_view(order: Order, cancel_client_id: str) -> dict:
    """DELETE /api/v3/order: `clientOrderId` is the cancel request's own id, ours is `origClientOrderId`."""
    return {
        "symbol": symbol_id(order.symbol), "origClientOrderId": order.client_id, "orderId": int(order.id),
        "orderListId": -1, "clientOrderId": cancel_client_id, "transactTime": order.updated_ms,
        "price": d8(order.price), "origQty": d8(order.amount), "executedQty": d8(order.filled),
        "origQuoteOrderQty": d8(None), "cummulativeQuoteQty": d8(order.cost), "status": status_of(order),
        "timeInForce": "GTC", "type": order.type.upper(), "side": order.side.upper(),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def my_trade_view(trade: Trade) -> dict:
    """GET /api/v3/myTrades."""
    return {
        "symbol": symbol_id(trade.symbol), "id": int(trade.id), "orderId": int(trade.order_id), "orderListId": -1,
        "price": d8(trade.price), "qty": d8(trade.amount), "quoteQty": d8(trade.price * trade.amount),
        "commission": d8(trade.fee), "commissionAsset": trade.fee_currency, "time": trade.ms,
        "isBuyer": trade.side == "buy", "isMaker": trade.maker, "isBestMatch": True,
    }


def execution_report(order: Order, execution: str, trade: Trade | None, cancel_client_id: str | None) -> dict:
    """The user data stream's `executionReport`. On a cancel, `c` is the cancel request's id and `C` ours."""
    client_id, original = (cancel_client_id, order.client_id) if cancel_client_id else (order.client_id, "")
    event_ms = now_ms()
    return {
        "e": "executionReport", "E": event_ms, "s": symbol_id(order.symbol), "c": client_id,
        "S": order.side.upper(), "o": order.type.upper(), "f": "GTC", "q": d8(order.amount), "p": d8(order.price),
        "P": d8(None), "F": d8(None), "g": -1, "C": original, "x": execution, "X": status_of(order),
        "r": "NONE", "i": int(order.id), "l": d8(trade.amount if trade else None),
        "z": d8(order.filled), "L": d8(trade.price if trade else None), "n": d8(trade.fee if trade else None),
        "N": trade.fee_currency if trade else None, "T": trade.ms if trade else order.updated_ms,
        "t": int(trade.id) if trade else -1, "v": 0, "I": int(order.id) * 2 + (int(trade.id) if trade else 0),
        "w": order.status == OPEN, "m": trade.maker if trade else False, "M": False, "O": order.created_ms,
        "Z": d8(order.cost), "Y": d8(trade.price * trade.amount if trade else None), "Q": d8(None),
        "W": order.created_ms, "V": "EXPIRE_MAKER",
    }


def account_position(balances: dict[str, Balance]) -> dict:
    """The user data stream's `outboundAccountPosition`: the assets that may have changed."""
    ms = now_ms()
    return {"e": "outboundAccountPosition", "E": ms, "u": ms,
            "B": [{"a": c, "f": d8(b.free), "l": d8(b.reserved)} for c, b in sorted(balances.items())]}


def balance_update(currency: str, delta: Decimal, ms: int) -> dict:
    """The user data stream's `balanceUpdate` (a deposit or withdrawal)."""
    return {"e": "balanceUpdate", "E": now_ms(), "a": currency, "d": d8(delta), "T": ms}


def account_view(balances: dict[str, Balance], maker_fee: Decimal, taker_fee: Decimal) -> dict:
    """GET /api/v3/account."""
    return {
        "makerCommission": int(maker_fee * 10000), "takerCommission": int(taker_fee * 10000),
        "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": d8(maker_fee), "taker": d8(taker_fee), "buyer": d8(None), "seller": d8(None)},
        "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False, "updateTime": now_ms(), "accountType": "SPOT",
        "balances": [{"asset": c, "free": d8(b.free), "locked": d8(b.reserved)} for c, b in sorted(balances.items())],
        "permissions": ["SPOT"], "uid": 354937868,
    }


def symbol_info(market: Market) -> dict:
    """One symbol of GET /api/v3/exchangeInfo, with the filters the double enforces."""
    return {
        "symbol": symbol_id(market.symbol), "status": "TRADING", "baseAsset": market.base, "baseAssetPrecision": 8,
        "quoteAsset": market.quote, "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT",
                                                      "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True, "cancelReplaceAllowed": True, "amendAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": d8(market.tick), "maxPrice": d8(Decimal("1000000")),
             "tickSize": d8(market.tick)},
            {"filterType": "LOT_SIZE", "minQty": d8(market.min_amount), "maxQty": d8(Decimal("9000")),
             "stepSize": d8(market.step)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": d8(None), "maxQty": d8(Decimal("100")), "stepSize": d8(None)},
            {"filterType": "NOTIONAL", "minNotional": d8(market.min_cost), "applyMinToMarket": True,
             "maxNotional": d8(Decimal("9000000")), "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(markets: list[Market], rate_limits: list[dict]) -> dict:
    return {"timezone": "UTC", "serverTime": now_ms(), "rateLimits": rate_limits, "exchangeFilters": [],
            "symbols": [symbol_info(m) for m in markets]}


def coin_info(currency: str, balance: Balance) -> dict:
    """One coin of GET /sapi/v1/capital/config/getall (ccxt's fetch_currencies)."""
    network = {"network": currency, "coin": currency, "name": currency, "isDefault": True,
               "depositEnable": True, "withdrawEnable": True, "withdrawFee": d8(Decimal("0.0001")),
               "withdrawMin": d8(Decimal("0.001")), "withdrawMax": d8(Decimal("9999999")),
               "withdrawIntegerMultiple": d8(Decimal("0.00000001")), "minConfirm": 1, "unLockConfirm": 0,
               "depositDesc": "", "withdrawDesc": "", "specialTips": "", "busy": False}
    return {"coin": currency, "name": currency, "depositAllEnable": True, "withdrawAllEnable": True,
            "free": d8(balance.free), "locked": d8(balance.reserved), "freeze": d8(None), "withdrawing": d8(None),
            "ipoing": d8(None), "ipoable": d8(None), "storage": d8(None), "isLegalMoney": False, "trading": True,
            "networkList": [network]}


def ticker_24hr(market: Market, event: bool) -> dict:
    """`<symbol>@ticker` (event=True, one-letter keys) or GET /api/v3/ticker/24hr (event=False)."""
    now = now_ms()
    if not event:
        return {"symbol": symbol_id(market.symbol), "priceChange": d8(None), "priceChangePercent": "0.000",
                "weightedAvgPrice": d8(market.last), "prevClosePrice": d8(market.last),
                "lastPrice": d8(market.last), "lastQty": d8(None), "bidPrice": d8(market.bid),
                "bidQty": d8(Decimal(1)), "askPrice": d8(market.ask), "askQty": d8(Decimal(1)),
                "openPrice": d8(market.last), "highPrice": d8(market.last), "lowPrice": d8(market.last),
                "volume": d8(None), "quoteVolume": d8(None), "openTime": now - 86_400_000, "closeTime": now,
                "firstId": -1, "lastId": -1, "count": 0}
    return {"e": "24hrTicker", "E": now, "s": symbol_id(market.symbol), "p": d8(None), "P": "0.000",
            "w": d8(market.last), "x": d8(market.last), "c": d8(market.last), "Q": d8(None), "b": d8(market.bid),
            "B": d8(Decimal(1)), "a": d8(market.ask), "A": d8(Decimal(1)), "o": d8(market.last),
            "h": d8(market.last), "l": d8(market.last), "v": d8(None), "q": d8(None), "O": now - 86_400_000,
            "C": now, "F": -1, "L": -1, "n": 0}


def mini_ticker(market: Market) -> dict:
    """`<symbol>@miniTicker`: the last price and the day's range, no bid or ask."""
    return {"e": "24hrMiniTicker", "E": now_ms(), "s": symbol_id(market.symbol), "c": d8(market.last),
            "o": d8(market.last), "h": d8(market.last), "l": d8(market.last), "v": d8(None), "q": d8(None)}


def book_ticker(market: Market, update_id: int) -> dict:
    """`<symbol>@bookTicker` (spot: no event type, no time)."""
    return {"u": update_id, "s": symbol_id(market.symbol), "b": d8(market.bid), "B": d8(Decimal(1)),
            "a": d8(market.ask), "A": d8(Decimal(1))}


def deposit_view(entry) -> dict:
    """One deposit of GET /sapi/v1/capital/deposit/hisrec (status 1: success)."""
    return {"id": entry.id, "amount": d8(entry.amount), "coin": entry.currency, "network": entry.currency,
            "status": 1, "address": f"double-{entry.account[:6]}-{entry.currency.lower()}", "addressTag": "",
            "txId": f"0x{int(entry.id):064x}", "insertTime": entry.ms, "completeTime": entry.ms,
            "transferType": 0, "confirmTimes": "1/1", "unlockConfirm": 0, "walletType": 0}


def withdrawal_view(entry) -> dict:
    """One withdrawal of GET /sapi/v1/capital/withdraw/history (status 6: completed; times as text)."""
    at = datetime.fromtimestamp(entry.ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return {"id": f"{int(entry.id):032x}", "amount": d8(-entry.amount), "transactionFee": d8(entry.fee),
            "coin": entry.currency, "status": 6, "address": f"double-out-{entry.currency.lower()}",
            "txId": f"0x{int(entry.id):064x}", "applyTime": at, "network": entry.currency, "transferType": 0,
            "info": "", "confirmNo": 1, "walletType": 0, "txKey": "", "completeTime": at}
