"""Per-pair decimal rules: quantity decimal places and price tick. VALR truncates finer values silently,
so the client refuses them before sending. The rules come from lth_pvr.pairs (filled from VALR's
GET /v1/public/pairs by lth_pvr.refresh_pairs): there is no copy of them in Python."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from worker.valr.errors import PrecisionError


@dataclass(frozen=True)
class PairRule:
    symbol: str
    base_decimal_places: int
    tick_size: Decimal

    def check(self, quantity: Decimal, price: Decimal) -> None:
        quantity, price = Decimal(quantity), Decimal(price)
        step = Decimal(1).scaleb(-self.base_decimal_places)
        if quantity <= 0:
            raise PrecisionError(f"{self.symbol}: quantity must be positive, got {quantity}")
        if quantity % step != 0:
            raise PrecisionError(
                f"{self.symbol}: quantity {quantity} has more than {self.base_decimal_places} decimal places")
        if price <= 0:
            raise PrecisionError(f"{self.symbol}: price must be positive, got {price}")
        if price % self.tick_size != 0:
            raise PrecisionError(f"{self.symbol}: price {price} is not a multiple of the tick size {self.tick_size}")


class PairTable:
    """Pair symbol → rule. An unknown pair is not checked here (the database decided whether an order
    for it may exist; VALR itself refuses a pair it does not know)."""

    def __init__(self, rules: Iterable[PairRule] = ()) -> None:
        self._rules = {r.symbol.upper(): r for r in rules}

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> "PairTable":
        """From lth_pvr.pair_rules() rows (pair, base_decimal_places, tick_size, …)."""
        return cls(PairRule(r["pair"], int(r["base_decimal_places"]), Decimal(r["tick_size"])) for r in rows)

    def get(self, pair: str) -> PairRule | None:
        return self._rules.get(pair.upper())

    def check(self, pair: str, quantity: Decimal, price: Decimal) -> None:
        rule = self.get(pair)
        if rule is not None:
            rule.check(quantity, price)

    def __contains__(self, pair: str) -> bool:
        return pair.upper() in self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def symbols(self) -> list[str]:
        return sorted(self._rules)
