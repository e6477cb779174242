"""The simulator's currency pairs, in the shape of VALR's GET /v1/public/pairs and /v1/public/ordertypes.

ETHZAR is VALR's own published example, field for field. The other rows follow the same shape; their
numbers are this project's best knowledge of VALR's live values, not published by VALR (see the README:
a refresh from VALR replaces them all). BTCUSDT's minimums are those VALR's own -12007 example quotes
("Minimum amount: 0.00000786 BTC, minimum total: 0.52 USDT").
"""

from __future__ import annotations

from decimal import Decimal

from worker.valr.pairs import PairRule

SPOT_ORDER_TYPES = ["LIMIT_POST_ONLY", "LIMIT", "MARKET", "SIMPLE", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]


def _pair(symbol: str, base: str, quote: str, *, min_base: str, max_base: str, min_quote: str, max_quote: str,
          tick: str, base_places: str, active: bool = True, margin: bool = False) -> dict:
    return {"symbol": symbol, "baseCurrency": base, "quoteCurrency": quote, "shortName": f"{base}/{quote}",
            "active": active, "minBaseAmount": min_base, "maxBaseAmount": max_base, "minQuoteAmount": min_quote,
            "maxQuoteAmount": max_quote, "tickSize": tick, "baseDecimalPlaces": base_places,
            "marginTradingAllowed": margin, "currencyPairType": "SPOT"}


ETHZAR = dict(_pair("ETHZAR", "ETH", "ZAR", min_base="0.0002", max_base="69.21", min_quote="10",
                    max_quote="5000000", tick="1", base_places="8", margin=True),
              initialMarginFraction="0.2", maintenanceMarginFraction="0.1", autoCloseMarginFraction="0.033333333")

CATALOGUE: list[dict] = [
    _pair("BTCZAR", "BTC", "ZAR", min_base="0.0001", max_base="2", min_quote="10", max_quote="5000000",
          tick="1", base_places="8"),
    ETHZAR,
    _pair("XRPZAR", "XRP", "ZAR", min_base="1", max_base="100000", min_quote="10", max_quote="5000000",
          tick="0.01", base_places="6"),
    _pair("SOLZAR", "SOL", "ZAR", min_base="0.01", max_base="1000", min_quote="10", max_quote="5000000",
          tick="1", base_places="8"),
    _pair("USDTZAR", "USDT", "ZAR", min_base="0.5", max_base="250000", min_quote="10", max_quote="5000000",
          tick="0.001", base_places="6"),
    _pair("USDCZAR", "USDC", "ZAR", min_base="0.5", max_base="250000", min_quote="10", max_quote="5000000",
          tick="0.001", base_places="6"),
    _pair("BTCUSDT", "BTC", "USDT", min_base="0.00000786", max_base="2", min_quote="0.52", max_quote="300000",
          tick="1", base_places="8"),
    _pair("BTCUSDC", "BTC", "USDC", min_base="0.00000786", max_base="2", min_quote="0.52", max_quote="300000",
          tick="1", base_places="8"),
    _pair("ETHBTC", "ETH", "BTC", min_base="0.0002", max_base="50", min_quote="0.000016", max_quote="2",
          tick="0.00001", base_places="6"),
    # VALR lists inactive pairs too (its published example has LTCBTC and LTCETH inactive).
    _pair("LTCBTC", "LTC", "BTC", min_base="0.0043", max_base="15.67", min_quote="0.000016", max_quote="0.0512",
          tick="0.000001", base_places="8", active=False),
]

# Pairs on which a maker is paid a reward (makerReward) instead of charged a fee.
REBATE_PAIRS = frozenset({"BTCUSDT", "BTCUSDC"})


def order_types() -> list[dict]:
    """GET /v1/public/ordertypes: every pair with the order types it accepts (none when inactive)."""
    return [{"currencyPair": p["symbol"], "orderTypes": list(SPOT_ORDER_TYPES) if p["active"] else []}
            for p in CATALOGUE]


PAIRS: dict[str, PairRule] = {
    p["symbol"]: PairRule(p["symbol"], int(p["baseDecimalPlaces"]), Decimal(p["tickSize"]))
    for p in CATALOGUE if p["active"]
}
INACTIVE_PAIRS = frozenset(p["symbol"] for p in CATALOGUE if not p["active"])
