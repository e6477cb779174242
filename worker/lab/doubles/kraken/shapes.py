"""Kraken's ids, asset and pair names and the shapes of its REST answers and WebSocket v2 messages, built
from the core's neutral objects. Shapes follow Kraken's API reference (docs.kraken.com/api-reference) and
the payloads ccxt records for Kraken (https://github.com/ccxt/ccxt/blob/master/ts/src/test/static/response/kraken.json); numbers are
strings over REST and JSON numbers over the v2 socket, as Kraken sends them."""

from __future__ import annotations

import hashlib
import random
import string
import time
from datetime import datetime, timezone
from decimal import Decimal

from worker.lab.doubles.core import CANCELED, CLOSED, EXPIRED, OPEN, LedgerEntry, Market, Order, Trade

# unified code -> (Kraken's asset id, altname, decimals, display_decimals), as /0/public/Assets lists them
ASSETS = {
    "BTC": ("XXBT", "XBT", 10, 5), "ETH": ("XETH", "ETH", 10, 5), "USD": ("ZUSD", "USD", 4, 2),
    "EUR": ("ZEUR", "EUR", 4, 2), "USDT": ("USDT", "USDT", 8, 4), "USDC": ("USDC", "USDC", 8, 4),
}
# unified symbol -> (pair id, altname, v1 wsname), as /0/public/AssetPairs names them
PAIRS = {
    "BTC/USD": ("XXBTZUSD", "XBTUSD", "XBT/USD"), "BTC/EUR": ("XXBTZEUR", "XBTEUR", "XBT/EUR"),
    "BTC/USDT": ("XBTUSDT", "XBTUSDT", "XBT/USDT"), "BTC/USDC": ("XBTUSDC", "XBTUSDC", "XBT/USDC"),
    "ETH/USD": ("XETHZUSD", "ETHUSD", "ETH/USD"), "ETH/USDT": ("ETHUSDT", "ETHUSDT", "ETH/USDT"),
}
TAKER_FEE, MAKER_FEE = Decimal("0.0026"), Decimal("0.0016")   # Kraken's first tier (0.26% / 0.16%)
LOT_DECIMALS = 8
_ID_ALPHABET = string.ascii_uppercase + "234567"
_PREFIX = {"order": "O", "trade": "T", "ledger": "L", "funding": "F"}


class Ids:
    """Kraken-looking ids: orders OR6EGN-KQSEG-AMI6CL, trades TWA6QJ-ZO4EM-6QIHQJ, ledger entries L…, each
    unique; a trade also has a per-pair integer `trade_id` (the socket's and TradesHistory's)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._seen: set[str] = set()

    def __call__(self, kind: str) -> str:
        while True:
            chars = "".join(self._random.choice(_ID_ALPHABET) for _ in range(16))
            new = f"{_PREFIX.get(kind, 'Q')}{chars[:5]}-{chars[5:10]}-{chars[10:]}"
            if new not in self._seen:
                self._seen.add(new)
                return new


def asset_id(code: str) -> str:
    return ASSETS.get(code, (code,))[0]


def code_of(asset: str) -> str:
    return next((code for code, row in ASSETS.items() if asset in (row[0], row[1])), asset)


def pair_names(market: Market) -> tuple[str, str, str]:
    if market.symbol in PAIRS:
        return PAIRS[market.symbol]
    base, quote = (ASSETS.get(c, (c, c))[1] for c in (market.base, market.quote))
    return base + quote, base + quote, f"{base}/{quote}"


def asset_places(code: str) -> int:
    """The decimals Kraken prints an asset's amounts with (Assets' `decimals`)."""
    return ASSETS.get(code, ("", "", 8, 4))[2]


def decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


def fixed(value: Decimal | None, places: int) -> str:
    return f"{(value or Decimal(0)):.{places}f}"


def num(value: Decimal | None) -> float:
    return float(value or 0)


def rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seconds(ms: int) -> float:
    return round(ms / 1000, 4)


# -- REST --------------------------------------------------------------------------------------------------
def asset_info(code: str) -> dict:
    kid, alt, places, display = ASSETS.get(code, (code, code, 8, 4))
    return {"aclass": "currency", "altname": alt, "decimals": places, "display_decimals": display,
            "collateral_value": 1.0, "status": "enabled"}


def asset_pair(market: Market) -> dict:
    _, altname, wsname = pair_names(market)
    tiers = [[0, float(TAKER_FEE * 100)], [50000, 0.24], [100000, 0.22]]
    maker = [[0, float(MAKER_FEE * 100)], [50000, 0.14], [100000, 0.12]]
    return {"altname": altname, "wsname": wsname, "aclass_base": "currency", "base": asset_id(market.base),
            "aclass_quote": "currency", "quote": asset_id(market.quote), "lot": "unit",
            "cost_decimals": 5, "pair_decimals": decimals(market.tick), "lot_decimals": LOT_DECIMALS,
            "lot_multiplier": 1, "leverage_buy": [], "leverage_sell": [], "fees": tiers, "fees_maker": maker,
            "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
            "ordermin": str(market.min_amount), "costmin": str(market.min_cost), "tick_size": str(market.tick),
            "status": "online"}


def rest_ticker(market: Market) -> dict:
    last, bid, ask = (fixed(v, decimals(market.tick)) for v in (market.last, market.bid, market.ask))
    return {"a": [ask, "1", "1.000"], "b": [bid, "1", "1.000"], "c": [last, "0.00100000"],
            "v": ["1.00000000", "1.00000000"], "p": [last, last], "t": [1, 1], "l": [last, last],
            "h": [last, last], "o": last}


def _descr(order: Order, market: Market) -> dict:
    pair = pair_names(market)[1]
    places = decimals(market.tick)
    volume = fixed(order.amount, LOT_DECIMALS)
    at = f"limit {fixed(order.price, places)}" if order.type == "limit" else "market"
    return {"pair": pair, "type": order.side, "ordertype": order.type,
            "price": fixed(order.price, places) if order.type == "limit" else "0", "price2": "0",
            "leverage": "none", "order": f"{order.side} {volume} {pair} @ {at}", "close": ""}


def order_status(order: Order) -> str:
    """Kraken's REST status words: pending, open, closed, canceled, expired. A cancelled order keeps
    'canceled' whatever it filled (vol_exec says how much); a rejected order never exists on Kraken."""
    return {OPEN: "open", CLOSED: "closed", CANCELED: "canceled", EXPIRED: "expired"}.get(order.status, "canceled")


def rest_order(order: Order, market: Market, with_trades: bool = False) -> dict:
    """One order as QueryOrders, OpenOrders and ClosedOrders answer it (fee in quote: oflags fciq)."""
    places = decimals(market.tick)
    fee = sum((t.fee for t in order.trades), Decimal(0))
    body = {"refid": None, "userref": None if order.client_id else 0, "status": order_status(order),
            "reason": order.reason, "opentm": seconds(order.created_ms), "starttm": 0, "expiretm": 0,
            "descr": _descr(order, market), "vol": fixed(order.amount, LOT_DECIMALS),
            "vol_exec": fixed(order.filled, LOT_DECIMALS), "cost": fixed(order.cost, 5), "fee": fixed(fee, 5),
            "price": fixed(order.average, places), "stopprice": "0.00000", "limitprice": "0.00000",
            "misc": "", "oflags": "fciq"}
    if order.client_id:
        body["cl_ord_id"] = order.client_id
    if order.status != OPEN:
        body["closetm"] = seconds(order.updated_ms)
        body["reason"] = order.reason or ("User requested" if order.status == CANCELED else None)
    if with_trades and order.trades:
        body["trades"] = [t.id for t in order.trades]
    return body


def rest_trade(trade: Trade, order: Order, market: Market, trade_no: int) -> dict:
    """One trade as TradesHistory and QueryTrades answer it."""
    places = decimals(market.tick)
    return {"ordertxid": trade.order_id, "postxid": "TKH2SE-M7IF5-CFI7LT", "pair": pair_names(market)[0],
            "aclass": "currency", "time": seconds(trade.ms), "type": trade.side, "ordertype": order.type,
            "price": fixed(trade.price, places), "cost": fixed(trade.amount * trade.price, 5),
            "fee": fixed(trade.fee, 5), "vol": fixed(trade.amount, LOT_DECIMALS), "margin": "0.00000",
            "leverage": "0", "misc": "", "trade_id": trade_no, "maker": trade.maker}


LEDGER_TYPES = {"trade": "trade", "deposit": "deposit", "withdrawal": "withdrawal", "fee": "trade",
                "transfer": "transfer"}


def rest_ledger(entry: LedgerEntry, refid: str) -> dict:
    """A ledger line: `amount` is the change before the fee, `fee` apart, `balance` after both."""
    digits = asset_places(entry.currency)
    return {"refid": refid, "time": seconds(entry.ms), "type": LEDGER_TYPES.get(entry.kind, entry.kind),
            "subtype": "", "aclass": "currency", "asset": asset_id(entry.currency),
            "amount": fixed(entry.amount + entry.fee, digits), "fee": fixed(entry.fee, digits),
            "balance": fixed(entry.balance_after, digits)}


def rest_deposit(entry: LedgerEntry, refid: str) -> dict:
    digits = asset_places(entry.currency)
    return {"method": entry.currency, "aclass": "currency", "asset": asset_id(entry.currency), "refid": refid,
            "txid": hashlib.sha256(refid.encode()).hexdigest(), "info": f"bc1q{refid.lower().replace('-', '')}",
            "amount": fixed(entry.amount, digits), "fee": fixed(entry.fee, digits), "time": int(entry.ms / 1000),
            "status": "Success"}


# -- WebSocket v2 (executions, ticker, balances) -----------------------------------------------------------
def _ids(order: Order) -> dict:
    ids = {"order_id": order.id, "order_userref": 0}
    if order.client_id:
        ids["cl_ord_id"] = order.client_id
    return ids


def ws_pending_new(order: Order) -> dict:
    """The first word on an accepted order: every detail (what later events leave out)."""
    event = {**_ids(order), "symbol": order.symbol, "order_qty": num(order.amount), "cum_cost": 0.0,
             "time_in_force": "GTC" if order.type == "limit" else "IOC", "exec_type": "pending_new",
             "side": order.side, "order_type": order.type, "order_status": "pending_new", "fee_usd_equiv": 0.0,
             "fee_ccy_pref": "fciq", "timestamp": rfc3339(order.created_ms)}
    if order.type == "limit":
        event.update(limit_price_type="static", limit_price=num(order.price))
    return event


def ws_status(order: Order, exec_type: str) -> dict:
    """A later status word (new, filled, canceled, expired): ids, cumulative figures, no symbol or side."""
    event = {"timestamp": rfc3339(order.updated_ms or now_ms()), "order_status": exec_type, "exec_type": exec_type,
             **_ids(order)}
    if exec_type != "new":
        fee = sum((t.fee for t in order.trades), Decimal(0))
        event.update(cum_qty=num(order.filled), cum_cost=num(order.cost), fee_usd_equiv=num(fee),
                     avg_price=num(order.average))
    if exec_type in ("canceled", "expired"):
        reason = order.reason or ("User requested" if exec_type == "canceled" else "Order expired")
        event.update(cancel_reason=reason, reason=reason)
    return event


def ws_trade(trade: Trade, order: Order, trade_no: int) -> dict:
    """A fill. Its order_status says partially_filled even when it fills the order: completion is the
    separate exec_type 'filled' event that follows (Kraken's executions channel does the same)."""
    return {**_ids(order), "exec_id": trade.id, "exec_type": "trade", "trade_id": trade_no,
            "symbol": trade.symbol, "side": trade.side, "last_qty": num(trade.amount),
            "last_price": num(trade.price), "liquidity_ind": "m" if trade.maker else "t",
            "cost": num(trade.amount * trade.price), "order_status": "partially_filled",
            "order_type": order.type, "timestamp": rfc3339(trade.ms), "fee_usd_equiv": num(trade.fee),
            "fees": [{"asset": trade.fee_currency, "qty": num(trade.fee)}]}


def ws_ticker(market: Market) -> dict:
    return {"symbol": market.symbol, "bid": num(market.bid), "bid_qty": 1.0, "ask": num(market.ask),
            "ask_qty": 1.0, "last": num(market.last), "volume": 1.0, "vwap": num(market.last),
            "low": num(market.last), "high": num(market.last), "change": 0.0, "change_pct": 0.0}


def ws_balance_snapshot(code: str, total: Decimal) -> dict:
    return {"asset": code, "asset_class": "currency", "balance": num(total),
            "wallets": [{"type": "spot", "id": "main", "balance": num(total)}]}


def ws_balance_update(entry: LedgerEntry, refid: str) -> dict:
    return {"ledger_id": entry.id, "ref_id": refid, "timestamp": rfc3339(entry.ms),
            "type": LEDGER_TYPES.get(entry.kind, entry.kind), "subtype": "", "asset_class": "currency",
            "asset": entry.currency, "amount": num(entry.amount + entry.fee), "fee": num(entry.fee),
            "balance": num(entry.balance_after), "wallet_type": "spot", "wallet_id": "main",
            "category": entry.kind}


def ws_envelope(method: str, req_id, result: dict | None = None, error: str | None = None) -> dict:
    now = rfc3339(now_ms())
    answer = {"method": method, "success": error is None, "time_in": now, "time_out": now}
    if req_id is not None:
        answer["req_id"] = req_id
    if error is not None:
        answer["error"] = error
    elif result is not None:
        answer["result"] = result
    return answer


def now_ms() -> int:
    return int(time.time() * 1000)
