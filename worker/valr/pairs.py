"""Per-pair decimal rules: quantity decimal places and price tick. VALR truncates finer values silently,
so the client refuses them before sending."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

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


DEFAULT_RULES = (
    PairRule("BTCZAR", 8, Decimal("1")),
    PairRule("ETHZAR", 8, Decimal("1")),
    PairRule("XRPZAR", 6, Decimal("0.01")),
    PairRule("SOLZAR", 8, Decimal("1")),
    PairRule("USDTZAR", 2, Decimal("0.01")),
    PairRule("USDCZAR", 2, Decimal("0.01")),
)


class PairTable:
    """Pair symbol → rule. An unknown pair is not checked (VALR itself will refuse an unknown pair)."""

    def __init__(self, rules: Iterable[PairRule] = DEFAULT_RULES) -> None:
        self._rules = {r.symbol.upper(): r for r in rules}

    @classmethod
    def from_valr(cls, pairs: list[dict[str, Any]]) -> "PairTable":
        """From `/v1/public/pairs` (baseDecimalPlaces, tickSize)."""
        return cls(PairRule(p["symbol"], int(p["baseDecimalPlaces"]), Decimal(str(p["tickSize"])))
                   for p in pairs if "symbol" in p and "baseDecimalPlaces" in p and "tickSize" in p)

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
