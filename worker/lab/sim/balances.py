"""Balances per subaccount and currency: total and reserved, moved by fills and fees. A resting limit
order reserves what it could spend (a BUY its quote at its price, a SELL its base) until it fills or
its cancel completes: so a market order sent before its limit's cancel completes finds the funds still
reserved and fails with "Insufficient Balance", as on VALR."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from worker.lab.sim.shapes import now_iso, num

# Generous by default: tests that do not care about money never run out of it.
DEFAULT_TOTALS = {"ZAR": Decimal("1000000000000"), "BTC": Decimal("1000000"), "ETH": Decimal("10000000"),
                  "XRP": Decimal("100000000000"), "SOL": Decimal("100000000"), "USDT": Decimal("100000000000"),
                  "USDC": Decimal("100000000000")}
DECIMAL_PLACES = {"ZAR": 2, "USDT": 2, "USDC": 2, "XRP": 6}


def currency_view(code: str) -> dict:
    """A currency object as VALR nests it in socket frames: ZAR's symbol is "R", the code is `shortName`."""
    places = DECIMAL_PLACES.get(code, 8)
    return {"symbol": "R" if code == "ZAR" else code, "decimalPlaces": places, "isActive": True,
            "shortName": code, "longName": code, "supportedWithdrawDecimalPlaces": places}


@dataclass
class Balance:
    total: Decimal
    reserved: Decimal = Decimal(0)
    updated_at: str = ""

    @property
    def available(self) -> Decimal:
        return self.total - self.reserved


class Balances:
    def __init__(self) -> None:
        self._books: dict[str, dict[str, Balance]] = {}

    def of(self, subaccount_id: str) -> dict[str, Balance]:
        book = self._books.get(subaccount_id)
        if book is None:
            stamp = now_iso()
            book = self._books[subaccount_id] = {c: Balance(t, updated_at=stamp) for c, t in DEFAULT_TOTALS.items()}
        return book

    def get(self, subaccount_id: str, currency: str) -> Balance:
        return self.of(subaccount_id).setdefault(currency, Balance(Decimal(0), updated_at=now_iso()))

    def set_total(self, subaccount_id: str, currency: str, total: Decimal) -> Balance:
        """Admin: the subaccount now holds this much (reservations stay)."""
        balance = self.get(subaccount_id, currency)
        balance.total = total
        balance.updated_at = now_iso()
        return balance

    def can_spend(self, subaccount_id: str, currency: str, amount: Decimal) -> bool:
        return self.get(subaccount_id, currency).available >= amount

    def reserve(self, subaccount_id: str, currency: str, amount: Decimal) -> bool:
        """Reserve for a resting order; False (nothing reserved) when not available."""
        balance = self.get(subaccount_id, currency)
        if balance.available < amount:
            return False
        balance.reserved += amount
        balance.updated_at = now_iso()
        return True

    def release(self, subaccount_id: str, currency: str, amount: Decimal) -> None:
        balance = self.get(subaccount_id, currency)
        balance.reserved = max(Decimal(0), balance.reserved - amount)
        balance.updated_at = now_iso()

    def move(self, subaccount_id: str, currency: str, amount: Decimal) -> None:
        """Credit (positive) or debit (negative) the total."""
        balance = self.get(subaccount_id, currency)
        balance.total += amount
        balance.updated_at = now_iso()

    def view(self, subaccount_id: str, currency: str) -> dict:
        """One BALANCE_UPDATE's data, VALR's shape."""
        b = self.get(subaccount_id, currency)
        return {"currency": currency_view(currency), "available": num(b.available), "reserved": num(b.reserved), "total": num(b.total),
                "updatedAt": b.updated_at}

    def frames(self, subaccount_id: str) -> list[dict]:
        """One BALANCE_UPDATE per asset, as VALR sends right after AUTHENTICATED."""
        return [{"type": "BALANCE_UPDATE", "data": self.view(subaccount_id, c)} for c in self.of(subaccount_id)]

    def rest_view(self, subaccount_id: str, currency: str) -> dict:
        """One item of GET /v1/account/balances: the currency as its code."""
        return self.view(subaccount_id, currency) | {"currency": currency}

    def accounts(self) -> list[str]:
        """Every (sub)account the simulator has seen ("" = primary)."""
        return list(self._books)

    def truth(self, subaccount_id: str) -> dict:
        return {c: {"total": num(b.total), "reserved": num(b.reserved), "available": num(b.available)}
                for c, b in sorted(self.of(subaccount_id).items())}
