"""The account history records of a fill, in the shape of VALR's documented samples (WebSocket API →
Account; REST transaction history): LIMIT_BUY/LIMIT_SELL or MARKET_BUY/MARKET_SELL, and a maker reward
as a MAKER_REWARD record of its own. creditValue is net of the fee, as in VALR's samples (a LIMIT_SELL
of 0.00170601 BNB credits 19.2432127566 ZAR with a 0.0347002434 ZAR fee: price × quantity − fee)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from worker.lab.sim.balances import currency_view  # noqa: F401  (kept importable from here)

if TYPE_CHECKING:
    from worker.lab.sim.book import Order
    from worker.lab.sim.ledger import Ledger, Transaction


def record_fill(ledger: Ledger, order: Order, trade: dict, base: str, quote: str) -> list[Transaction]:
    """Record (and announce) the transactions of one fill; `trade` keeps the fee signed (a reward < 0)."""
    qty, px, fee = Decimal(trade["quantity"]), Decimal(trade["price"]), Decimal(trade["fee"])
    value = qty * px
    charged = max(fee, Decimal(0))
    debit, credit = ((quote, value), (base, qty - charged)) if order.side == "buy" else ((base, qty), (quote, value - charged))
    # VALR prints costPerCoin as a bare JSON number (800000 in its example).
    info = {"costPerCoin": int(px) if px == px.to_integral_value() else float(px),
            "costPerCoinSymbol": "R" if quote == "ZAR" else quote, "currencyPairSymbol": order.pair,
            "orderId": order.order_id}
    kind = f"{'MARKET' if order.kind == 'market' else 'LIMIT'}_{order.side.upper()}"
    sub, stamp = order.subaccount_id, trade["tradedAt"]
    records = [ledger.record(sub, kind, debit=debit, credit=credit, fee=(trade["feeCurrency"], charged), info=info,
                             event_at=stamp, description=kind.replace("_", " ").title())]
    if fee < 0:
        records.append(ledger.record(sub, "MAKER_REWARD", credit=(trade["feeCurrency"], -fee), info=info,
                                     event_at=stamp))
    return records
