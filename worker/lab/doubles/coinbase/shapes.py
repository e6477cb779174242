"""Coinbase Advanced Trade's JSON shapes, built from the core's neutral state. Field names and their
string formats follow ccxt's recorded responses (the coinbase JSON of ts/src/test/static/response in ccxt/ccxt: fetchClosedOrders,
fetchMyTrades, fetchBalance, fetchDepositsWithdrawals) and Coinbase's API reference (List Orders, List Fills,
the `user` and `ticker` WebSocket channels)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from worker.lab.doubles.core import CANCELED, CLOSED, EXPIRED, OPEN, REJECTED, LedgerEntry, Market, Order, Trade
from worker.lab.doubles.server import plain

STATUS = {OPEN: "OPEN", CLOSED: "FILLED", CANCELED: "CANCELLED", EXPIRED: "EXPIRED", REJECTED: "FAILED"}
NAMESPACE = uuid.UUID("6f2c1b7e-8f0a-4c4e-9a57-0c0ba5e0c0de")  # the double's own: stable account uuids
FIAT = {"USD", "EUR", "GBP"}
NAMES = {"BTC": "Bitcoin", "ETH": "Ethereum", "USD": "US Dollar", "USDC": "USDC", "USDT": "Tether",
         "EUR": "Euro", "GBP": "British Pound"}


def iso(ms: int) -> str:
    """Coinbase's timestamps: RFC 3339 with microseconds and a Z."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def product_id(market: Market) -> str:
    return f"{market.base}-{market.quote}"


def money(value: Decimal | None) -> str:
    return plain(value) if value is not None else "0"


def product(market: Market) -> dict[str, Any]:
    """A row of GET /api/v3/brokerage/market/products (Coinbase's List Public Products)."""
    pid = product_id(market)
    return {
        "product_id": pid, "price": money(market.last), "price_percentage_change_24h": "0",
        "volume_24h": "0", "volume_percentage_change_24h": "0",
        "base_increment": plain(market.step), "quote_increment": plain(market.tick),
        "quote_min_size": plain(market.min_cost), "quote_max_size": "150000000",
        "base_min_size": plain(market.min_amount), "base_max_size": "3400",
        "base_name": NAMES.get(market.base, market.base), "quote_name": NAMES.get(market.quote, market.quote),
        "watched": False, "is_disabled": False, "new": False, "status": "online", "cancel_only": False,
        "limit_only": False, "post_only": False, "trading_disabled": False, "auction_mode": False,
        "product_type": "SPOT", "quote_currency_id": market.quote, "base_currency_id": market.base,
        "fcm_trading_session_details": None, "mid_market_price": "", "alias": "", "alias_to": [],
        "base_display_symbol": market.base, "quote_display_symbol": market.quote, "view_only": False,
        "price_increment": plain(market.tick), "display_name": pid, "product_venue": "CBE",
    }


def _hold(order: Order) -> str:
    return money(order.reserved) if order.status == OPEN else "0"


def _fees(order: Order) -> Decimal:
    return sum((t.fee for t in order.trades), Decimal(0))


def order_rest(order: Order, market: Market, config: dict, user_id: str, pending_cancel: bool = False) -> dict[str, Any]:
    """An order as GET /api/v3/brokerage/orders/historical/{order_id} and .../batch answer it."""
    fees, value = _fees(order), order.cost
    after = value + fees if order.side == "buy" else value - fees
    in_quote = "quote_size" in next(iter(config.values()), {})
    last_fill = iso(order.trades[-1].ms) if order.trades else None
    return {
        "order_id": order.id, "product_id": product_id(market), "user_id": user_id,
        "order_configuration": config, "side": order.side.upper(), "client_order_id": order.client_id or "",
        "status": STATUS[order.status],
        "time_in_force": "GOOD_UNTIL_CANCELLED" if order.type == "limit" else "IMMEDIATE_OR_CANCEL",
        "created_time": iso(order.created_ms),
        "completion_percentage": plain((order.filled * 100 / order.amount).quantize(Decimal("0.01"))),
        "filled_size": money(order.filled), "average_filled_price": money(order.average),
        "fee": "", "number_of_fills": str(len(order.trades)), "filled_value": money(value),
        "pending_cancel": pending_cancel, "size_in_quote": in_quote, "total_fees": money(fees),
        "size_inclusive_of_fees": in_quote, "total_value_after_fees": money(after),
        "trigger_status": "INVALID_ORDER_TYPE", "order_type": order.type.upper(),
        "reject_reason": "REJECT_REASON_UNSPECIFIED", "settled": order.status != OPEN, "product_type": "SPOT",
        "reject_message": order.reason if order.status == REJECTED and order.reason else "",
        "cancel_message": order.reason if order.status in (CANCELED, EXPIRED) and order.reason else "",
        "order_placement_source": "RETAIL_ADVANCED", "outstanding_hold_amount": _hold(order),
        "is_liquidation": False, "last_fill_time": last_fill, "edit_history": [], "leverage": "",
        "margin_type": "UNKNOWN_MARGIN_TYPE", "retail_portfolio_id": "",
    }


def order_ws(order: Order, market: Market, config: dict) -> dict[str, Any]:
    """An order in the `user` channel (Coinbase's WebSocket reference; ccxt's parse_ws_order reads these)."""
    fees = _fees(order)
    limit = next(iter(config.values()), {}).get("limit_price", "")
    return {
        "order_id": order.id, "client_order_id": order.client_id or "",
        "cumulative_quantity": money(order.filled), "leaves_quantity": money(order.remaining),
        "avg_price": money(order.average), "total_fees": money(fees), "status": STATUS[order.status],
        "product_id": product_id(market), "creation_time": iso(order.created_ms),
        "order_side": order.side.upper(), "order_type": order.type.capitalize(),
        "cancel_reason": order.reason if order.status in (CANCELED, EXPIRED) and order.reason else "",
        "reject_reason": order.reason if order.status == REJECTED and order.reason else "",
        "total_value_after_fees": money(order.cost + fees if order.side == "buy" else order.cost - fees),
        "limit_price": limit, "stop_price": "", "filled_value": money(order.cost),
        "number_of_fills": str(len(order.trades)), "outstanding_hold_amount": _hold(order),
        "completion_percentage": plain((order.filled * 100 / order.amount).quantize(Decimal("0.01"))),
        "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE", "product_type": "SPOT",
        "risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE",
        "time_in_force": "GOOD_UNTIL_CANCELLED" if order.type == "limit" else "IMMEDIATE_OR_CANCEL",
        "trigger_status": "INVALID_ORDER_TYPE",
    }


def fill(trade: Trade, market: Market, user_id: str) -> dict[str, Any]:
    """A row of GET /api/v3/brokerage/orders/historical/fills (List Fills)."""
    return {
        "entry_id": hashlib.sha256(trade.id.encode()).hexdigest(), "trade_id": trade.id,
        "order_id": trade.order_id, "trade_time": iso(trade.ms), "trade_type": "FILL",
        "price": plain(trade.price), "size": plain(trade.amount), "commission": plain(trade.fee),
        "product_id": product_id(market), "sequence_timestamp": iso(trade.ms),
        "liquidity_indicator": "MAKER" if trade.maker else "TAKER", "size_in_quote": False,
        "user_id": user_id, "side": trade.side.upper(),
    }


def ticker(market: Market) -> dict[str, Any]:
    return {
        "type": "ticker", "product_id": product_id(market), "price": money(market.last),
        "volume_24_h": "0", "low_24_h": money(market.bid), "high_24_h": money(market.ask),
        "low_52_w": money(market.bid), "high_52_w": money(market.ask), "price_percent_chg_24_h": "0",
        "best_bid": money(market.bid), "best_bid_quantity": "1", "best_ask": money(market.ask),
        "best_ask_quantity": "1",
    }


def account_v3(account: str, currency: str, free: Decimal, hold: Decimal, created_ms: int) -> dict[str, Any]:
    """A row of GET /api/v3/brokerage/accounts (List Accounts)."""
    return {
        "uuid": stable_uuid(account, currency), "name": f"{currency} Wallet", "currency": currency,
        "available_balance": {"value": plain(free), "currency": currency}, "default": True, "active": True,
        "created_at": iso(created_ms), "updated_at": iso(created_ms), "deleted_at": None,
        "type": "ACCOUNT_TYPE_FIAT" if currency in FIAT else "ACCOUNT_TYPE_CRYPTO", "ready": True,
        "hold": {"value": plain(hold), "currency": currency}, "retail_portfolio_id": stable_uuid(account),
    }


def account_v2(account: str, currency: str, total: Decimal, created_ms: int) -> dict[str, Any]:
    """A row of GET /v2/accounts: the whole balance, holds included (ccxt's recorded v2 balance)."""
    uid = stable_uuid(account, currency)
    crypto = currency not in FIAT
    return {
        "id": uid, "name": f"{currency} Wallet", "primary": True, "type": "wallet" if crypto else "fiat",
        "balance": {"amount": plain(total), "currency": currency},
        "created_at": iso(created_ms)[:19] + "Z", "updated_at": iso(created_ms)[:19] + "Z",
        "resource": "account", "resource_path": f"/v2/accounts/{uid}",
        "currency": {"code": currency, "name": NAMES.get(currency, currency), "type": "crypto" if crypto else "fiat",
                     "exponent": "8" if crypto else "2", "asset_id": stable_uuid("asset", currency) if crypto else None},
        "allow_deposits": True, "allow_withdrawals": True,
    }


def transaction(entry: LedgerEntry, account_uuid: str, trade: Trade | None) -> dict[str, Any]:
    """A row of GET /v2/accounts/{id}/transactions. Crypto deposits and withdrawals are `send`s with a
    `network` (ccxt's recorded fetchDepositsWithdrawals); fiat ones `fiat_deposit` / `fiat_withdrawal`;
    a fill's two legs `advanced_trade_fill`."""
    path = f"/v2/accounts/{account_uuid}/transactions/{entry.id}"
    amount = {"amount": plain(entry.amount), "currency": entry.currency}
    row: dict[str, Any] = {
        "id": entry.id, "type": _transaction_type(entry), "status": "completed", "amount": amount,
        "native_amount": {"amount": plain(entry.amount), "currency": entry.currency},
        "description": None, "created_at": iso(entry.ms)[:19] + "Z", "updated_at": iso(entry.ms)[:19] + "Z",
        "resource": "transaction", "resource_path": path, "instant_exchange": False,
    }
    if row["type"] == "send":
        row["network"] = {"status": "confirmed", "hash": hashlib.sha256(entry.id.encode()).hexdigest(),
                          "network_name": NAMES.get(entry.currency, entry.currency).lower()}
        if entry.kind == "withdrawal":
            row["network"]["transaction_fee"] = {"amount": plain(entry.fee), "currency": entry.currency}
    if trade is not None:
        row["advanced_trade_fill"] = {"fill_price": plain(trade.price), "product_id": product_id_of(trade),
                                      "order_id": trade.order_id, "commission": plain(entry.fee),
                                      "order_side": trade.side}
    return row


def product_id_of(trade: Trade) -> str:
    return trade.symbol.replace("/", "-")


def _transaction_type(entry: LedgerEntry) -> str:
    if entry.kind == "trade":
        return "advanced_trade_fill"
    if entry.currency in FIAT:
        return "fiat_deposit" if entry.kind == "deposit" else "fiat_withdrawal"
    return "send"


def deposit(entry: LedgerEntry, account_uuid: str) -> dict[str, Any]:
    """A row of GET /v2/accounts/{id}/deposits (fiat deposits only, as Coinbase's Deposit Fiat reference)."""
    amount = {"amount": plain(entry.amount), "currency": entry.currency}
    return {
        "id": entry.id, "status": "completed", "payment_method": {"id": stable_uuid("pm", entry.account),
                                                                 "resource": "payment_method"},
        "transaction": {"id": entry.id, "resource": "transaction"},
        "amount": amount, "subtotal": amount, "fee": {"amount": "0.00", "currency": entry.currency},
        "created_at": iso(entry.ms)[:19] + "Z", "updated_at": iso(entry.ms)[:19] + "Z",
        "resource": "deposit", "resource_path": f"/v2/accounts/{account_uuid}/deposits/{entry.id}",
        "committed": True, "payout_at": iso(entry.ms)[:19] + "Z",
    }
