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
    # VALR's accounts only: the other exchanges' orders and fills are checked against their doubles
    # (worker/lab/doubles/truth.py), and their trade ids may equal VALR's.
    db_orders = {r[0]: r for r in conn.execute(
        """SELECT o.customer_order_id::text, o.status, o.filled_qty, o.ext_order_id
             FROM lth_pvr.exchange_orders o JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
            WHERE a.exchange = 'valr'""").fetchall()}
    db_fills: dict[str, int] = {}
    for trade_id, n in conn.execute(
            """SELECT f.trade_id, count(*) FROM lth_pvr.order_fills f
                 JOIN lth_pvr.exchange_orders o USING (exchange_order_id)
                 JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
                WHERE a.exchange = 'valr' GROUP BY 1""").fetchall():
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


# -- the account ledger -------------------------------------------------------------------------------
# What counts as a deposit (the oracle, written independently of lth_pvr.deposit_kind): money in from
# outside, or a transfer crediting the account.
DEPOSIT_TYPES = ("FIAT_DEPOSIT", "BLOCKCHAIN_RECEIVE")
MONEY = ("debit", "credit", "fee")


@dataclass
class LedgerCheck:
    """Every transaction the exchange holds per subaccount in account_transactions exactly once (by
    VALR's id, same type and amounts), and every balance it holds equal to `balances`."""
    transactions: int = 0
    deposits: int = 0
    balances: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    amounts_differ: list[str] = field(default_factory=list)
    balances_differ: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.amounts_differ or self.balances_differ)

    def problems(self) -> list[str]:
        return ([f"transaction lost: {x}" for x in self.lost] + [f"transaction doubled: {x}" for x in self.doubled]
                + [f"transaction differs: {x}" for x in self.amounts_differ]
                + [f"balance differs: {x}" for x in self.balances_differ])

    def summary(self) -> dict:
        return {"transactions": self.transactions, "deposits": self.deposits, "balances": self.balances,
                "transactions_lost": len(self.lost), "transactions_doubled": len(self.doubled),
                "transactions_differ": len(self.amounts_differ), "balances_differ": len(self.balances_differ),
                "ok": self.ok}


def is_deposit(item: dict) -> bool:
    kind = item["transactionType"]["type"]
    return kind in DEPOSIT_TYPES or (kind == "INTERNAL_TRANSFER" and "creditValue" in item and "debitValue" not in item)


def _money(item: dict) -> tuple:
    """(type, (currency, value) per side) of a REST item; an absent side is (None, None)."""
    sides = tuple((item.get(f"{s}Currency"), Decimal(str(item[f"{s}Value"])) if f"{s}Value" in item else None)
                  for s in MONEY)
    return (item["transactionType"]["type"], *sides)


def check_ledger(conn: psycopg.Connection, ledgers: dict[str, dict], balances: dict[str, dict]) -> LedgerCheck:
    """ledgers: subaccount id → the simulator's ledger truth (its transactions, REST shape);
    balances: subaccount id → its balances truth ({currency: {total, reserved, available}})."""
    result = LedgerCheck()
    accounts = dict(conn.execute("SELECT subaccount_id, exchange_account_id FROM lth_pvr.exchange_accounts "
                                 "WHERE subaccount_id = ANY (%s)", (list(ledgers) + list(balances),)).fetchall())
    held: dict[str, tuple] = {}
    for tid, sub, kind, dc, dv, cc, cv, fc, fv in conn.execute(
            """SELECT t.transaction_id, a.subaccount_id, t.transaction_type, t.debit_currency, t.debit_value,
                      t.credit_currency, t.credit_value, t.fee_currency, t.fee_value
                 FROM lth_pvr.account_transactions t JOIN lth_pvr.exchange_accounts a USING (exchange_account_id)
                WHERE a.subaccount_id = ANY (%s)""", (list(ledgers),)).fetchall():
        held[tid] = (sub, (kind, (dc, dv), (cc, cv), (fc, fv)))
    truth_ids: set[str] = set()
    for sub, ledger in ledgers.items():
        for item in ledger["transactions"]:
            result.transactions += 1
            result.deposits += is_deposit(item)
            truth_ids.add(item["id"])
            row = held.get(item["id"])
            if row is None:
                result.lost.append(f"{sub}/{item['id']}")
            elif row != (sub, _money(item)):
                result.amounts_differ.append(f"{sub}/{item['id']}: database {row}, exchange {(sub, _money(item))}")
    # The primary key makes a VALR id once at most: a row the exchange never made is the doubling left.
    result.doubled = sorted(f"{sub}/{tid}" for tid, (sub, _) in held.items() if tid not in truth_ids)
    for sub, book in balances.items():
        rows = {c: (a, r, t) for c, a, r, t in conn.execute(
            "SELECT currency, available, reserved, total FROM lth_pvr.balances WHERE exchange_account_id = %s",
            (accounts.get(sub),)).fetchall()}
        for currency, b in book.items():
            result.balances += 1
            want = (Decimal(b["available"]), Decimal(b["reserved"]), Decimal(b["total"]))
            got = rows.get(currency, (Decimal(0),) * 3 if want == (Decimal(0),) * 3 else None)
            if got != want:
                result.balances_differ.append(f"{sub}/{currency}: database {got}, exchange {want}")
    return result
