"""NEW_ACCOUNT_HISTORY_RECORD: the account history record VALR sends with every fill, in the shape of
VALR's documented sample (WebSocket API → Account)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from worker.lab.sim.balances import DECIMAL_PLACES
from worker.lab.sim.shapes import num

if TYPE_CHECKING:
    from worker.lab.sim.book import Order


def currency_view(code: str) -> dict:
    """A currency object as VALR nests it in account history records (ZAR's symbol is "R")."""
    places = DECIMAL_PLACES.get(code, 8)
    return {"symbol": "R" if code == "ZAR" else code, "decimalPlaces": places, "isActive": True,
            "shortName": code, "longName": code, "supportedWithdrawDecimalPlaces": places}


def history_records(order: Order, trade: dict, base: str, quote: str) -> list[dict]:
    """NEW_ACCOUNT_HISTORY_RECORD data of one fill, in VALR's documented shape (LIMIT_BUY/LIMIT_SELL or
    MARKET_BUY/MARKET_SELL; a maker reward as a MAKER_REWARD record of its own)."""
    qty, px, fee = Decimal(trade["quantity"]), Decimal(trade["price"]), Decimal(trade["fee"])
    value = qty * px
    debit, debit_value, credit, credit_value = ((quote, value, base, qty) if order.side == "buy"
                                                else (base, qty, quote, value))
    # VALR prints costPerCoin as a bare JSON number (800000 in its example).
    info = {"costPerCoin": int(px) if px == px.to_integral_value() else float(px),
            "costPerCoinSymbol": "R" if quote == "ZAR" else quote, "currencyPairSymbol": order.pair,
            "orderId": order.order_id}
    kind = f"{'MARKET' if order.kind == 'market' else 'LIMIT'}_{order.side.upper()}"
    records = [{"transactionType": {"type": kind, "description": kind.replace("_", " ").title()},
                "debitCurrency": currency_view(debit), "debitValue": num(debit_value),
                "creditCurrency": currency_view(credit), "creditValue": num(credit_value),
                "feeCurrency": currency_view(trade["feeCurrency"]), "feeValue": num(max(fee, Decimal(0))),
                "eventAt": trade["tradedAt"], "additionalInfo": info, "id": str(uuid.uuid4())}]
    if fee < 0:
        records.append({"transactionType": {"type": "MAKER_REWARD", "description": "Maker Reward"},
                        "creditCurrency": currency_view(trade["feeCurrency"]), "creditValue": num(-fee),
                        "eventAt": trade["tradedAt"], "additionalInfo": info, "id": str(uuid.uuid4())})
    return records
