"""Compare the database with the exchange's ground truth (the simulator's /_sim/truth).

Used by the tests, the demo and the chaos soak: one definition of "nothing lost, nothing doubled".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import psycopg

# How the database is expected to name each VALR status (the mapping itself lives in SQL:
# lth_pvr.valr_status; this is the test oracle, written independently on purpose).
EXPECTED_STATUS = {
    "Placed": "submitted", "Partially Filled": "submitted", "Order Modified": "submitted",
    "Active": "submitted", "Filled": "filled", "Cancelled": "cancelled", "Expired": "cancelled",
    "Partially Filled and Cancelled Due To Slippage": "cancelled", "Failed": "failed",
}


@dataclass
class TruthCheck:
    orders: int = 0
    fills: int = 0
    placed_twice: list[str] = field(default_factory=list)
    fills_lost: list[str] = field(default_factory=list)
    fills_doubled: list[str] = field(default_factory=list)
    status_mismatch: list[str] = field(default_factory=list)
    not_in_database: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.placed_twice or self.fills_lost or self.fills_doubled
                    or self.status_mismatch or self.not_in_database)

    def problems(self) -> list[str]:
        return ([f"placed twice: {x}" for x in self.placed_twice]
                + [f"fill lost: {x}" for x in self.fills_lost]
                + [f"fill doubled: {x}" for x in self.fills_doubled]
                + [f"status differs: {x}" for x in self.status_mismatch]
                + [f"not in database: {x}" for x in self.not_in_database])

    def summary(self) -> dict:
        return {"orders": self.orders, "fills": self.fills, "placed_twice": len(self.placed_twice),
                "fills_lost": len(self.fills_lost), "fills_doubled": len(self.fills_doubled),
                "status_mismatch": len(self.status_mismatch) + len(self.not_in_database), "ok": self.ok}


def check(conn: psycopg.Connection, truth: dict) -> TruthCheck:
    result = TruthCheck(orders=len(truth["orders"]), fills=len(truth["trades"]))
    db_orders = {r[0]: r for r in conn.execute(
        "SELECT customer_order_id::text, status, filled_qty, ext_order_id FROM lth_pvr.exchange_orders").fetchall()}
    db_fills: dict[str, int] = {}
    for trade_id, n in conn.execute("SELECT trade_id, count(*) FROM lth_pvr.order_fills GROUP BY 1").fetchall():
        db_fills[trade_id] = n
    seen_customer_ids: dict[str, int] = {}
    for order in truth["orders"]:
        cid = order["customerOrderId"]
        seen_customer_ids[cid] = seen_customer_ids.get(cid, 0) + 1
        row = db_orders.get(cid)
        if row is None:
            result.not_in_database.append(cid)
            continue
        expected = EXPECTED_STATUS.get(order["status"], order["status"])
        if row[1] != expected or Decimal(row[2]) != Decimal(order["filledQuantity"]):
            result.status_mismatch.append(
                f"{cid}: database {row[1]} filled {row[2]}, exchange {order['status']} filled {order['filledQuantity']}")
    # customerOrderIds are unique per open order: the same one twice on the exchange means
    # an order was placed twice (failed duplicates are refused by VALR and do not count).
    for cid, n in seen_customer_ids.items():
        if cid in db_orders and n > 1:
            accepted = [o for o in truth["orders"] if o["customerOrderId"] == cid and o["status"] != "Failed"]
            if len(accepted) > 1:
                result.placed_twice.append(cid)
    truth_ids = {t["id"] for t in truth["trades"]}
    result.fills_lost = sorted(truth_ids - db_fills.keys())
    result.fills_doubled = sorted([t for t, n in db_fills.items() if n > 1] + sorted(db_fills.keys() - truth_ids))
    return result
