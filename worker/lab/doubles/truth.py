"""Compare the database with an exchange double's ground truth (`GET /_double/truth`), per exchange: every
order the double accepted is in the database once under our client order id, in the status its final word
means, with every trade recorded once (trade ids are unique only within one exchange, so each exchange is
checked against its own rows). The demo, the chaos soak and the tests share this one definition."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from worker.lab.truth import TruthCheck

# The oracle, written apart from SQL's mapping (lth_pvr.ccxt_order_payload) on purpose: an order the
# exchange closed with something left was ended by it, so it is cancelled here too.
EXPECTED_STATUS = {"open": "submitted", "canceled": "cancelled", "expired": "cancelled", "rejected": "failed"}


def expected_status(order: dict) -> str:
    if order["status"] == "closed":
        return "filled" if Decimal(order["filled"]) == Decimal(order["amount"]) else "cancelled"
    return EXPECTED_STATUS.get(order["status"], order["status"])


def check_exchange(conn: psycopg.Connection, exchange: str, truth: dict) -> TruthCheck:
    """The database's orders and fills of `exchange`'s accounts against its double's truth."""
    result = TruthCheck(orders=len(truth["orders"]), fills=len(truth["trades"]))
    db_orders = {r[0]: r for r in conn.execute(
        """SELECT o.customer_order_id::text, o.status, o.filled_qty
             FROM lth_pvr.exchange_orders o JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
            WHERE a.exchange = %s""", (exchange,)).fetchall()}
    # A trade by its order's symbol and its id: Binance numbers trades per symbol.
    db_fills = {(pair, trade_id): n for pair, trade_id, n in conn.execute(
        """SELECT o.pair, f.trade_id, count(*) FROM lth_pvr.order_fills f
             JOIN lth_pvr.exchange_orders o USING (exchange_order_id)
             JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
            WHERE a.exchange = %s GROUP BY 1, 2""", (exchange,)).fetchall()}
    accepted: dict[str, int] = {}
    for order in truth["orders"]:
        cid = order["clientOrderId"]
        if order["status"] != "rejected":
            accepted[cid] = accepted.get(cid, 0) + 1
        row = db_orders.get(cid)
        if row is None:
            result.not_in_database.append(f"{exchange}/{cid}")
        elif row[1] != expected_status(order) or Decimal(row[2]) != Decimal(order["filled"]):
            result.status_mismatch.append(f"{exchange}/{cid}: database {row[1]} filled {row[2]}, "
                                          f"exchange {order['status']} filled {order['filled']}")
    result.placed_twice = sorted(f"{exchange}/{cid}" for cid, n in accepted.items() if n > 1)
    truth_ids = {(t["symbol"], t["id"]) for t in truth["trades"]}
    result.fills_lost = sorted(f"{exchange}/{s}/{t}" for s, t in truth_ids - db_fills.keys())
    result.fills_doubled = sorted(f"{exchange}/{s}/{t}" for (s, t), n in db_fills.items() if n > 1 or (s, t) not in truth_ids)
    return result
