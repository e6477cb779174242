"""The market of each pair: best bid, best ask and last traded price, moved by a seeded random walk of
the mid price (mode "market") or by the admin API (`/_sim/market`: set or jump the price), and the
MARKET_SUMMARY_UPDATE / marketsummary views of it in VALR's shapes.

There is no order book of other participants: liquidity is a quantity per price level
(`level_qty`, None = unlimited at the touch), which is what market orders walk through and what a
price move offers resting limit orders (`depth`, None = all of them fill)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Callable

from worker.lab.sim.shapes import now_iso, num

# Mid prices the market starts from (roughly where these pairs traded); anything else starts at 100.
START_MIDS = {"BTCZAR": Decimal("1150000"), "ETHZAR": Decimal("40000"), "XRPZAR": Decimal("10"),
              "SOLZAR": Decimal("3000"), "USDTZAR": Decimal("18"), "USDCZAR": Decimal("18"),
              "BTCUSDC": Decimal("65000"), "BTCUSDT": Decimal("65000"), "ETHBTC": Decimal("0.035")}

Listener = Callable[[str], None]


@dataclass
class Quote:
    pair: str
    tick: Decimal
    bid: Decimal
    ask: Decimal
    last: Decimal
    previous_close: Decimal
    high: Decimal
    low: Decimal
    base_volume: Decimal = Decimal(0)
    quote_volume: Decimal = Decimal(0)
    created: str = ""
    level_qty: Decimal | None = None   # base quantity per price level a market order can take
    depth: Decimal | None = None       # base quantity a price move offers resting orders
    level_step: Decimal = Decimal("0.0005")  # each further level is this fraction worse
    slippage_band: Decimal = Decimal("0.01")  # a market order never trades beyond this from the touch

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    def summary(self) -> dict:
        """The shape of GET /v1/public/{pair}/marketsummary and of MARKET_SUMMARY_UPDATE's data."""
        change = ((self.last - self.previous_close) / self.previous_close * 100) if self.previous_close else 0
        return {"currencyPair": self.pair, "askPrice": num(self.ask), "bidPrice": num(self.bid),
                "lastTradedPrice": num(self.last), "previousClosePrice": num(self.previous_close),
                "baseVolume": num(self.base_volume), "quoteVolume": num(self.quote_volume),
                "highPrice": num(self.high), "lowPrice": num(self.low), "created": self.created,
                "changeFromPrevious": f"{Decimal(change):.2f}", "markPrice": num(self.mid.quantize(self.tick))}

    def levels(self, side: str) -> list[tuple[Decimal, Decimal | None]]:
        """(price, quantity) a market order of this side can take, best first, within the slippage band."""
        best = self.ask if side == "buy" else self.bid
        if self.level_qty is None:
            return [(best, None)]
        limit = best * (1 + self.slippage_band) if side == "buy" else best * (1 - self.slippage_band)
        levels = []
        for i in range(1000):
            move = best * self.level_step * i
            price = _on_tick(best + move if side == "buy" else best - move, self.tick, side == "buy")
            if (side == "buy" and price > limit) or (side == "sell" and (price < limit or price <= 0)):
                break
            if not levels or levels[-1][0] != price:
                levels.append((price, self.level_qty))
        return levels


class Market:
    """Every pair's quote. `on_move(pair)`: bid/ask moved (resting orders may now fill);
    `on_summary(pair)`: anything in the summary changed (the trade socket sends it)."""

    def __init__(self, ticks: dict[str, Decimal], *, spread: Decimal, volatility: float,
                 seed: int | None) -> None:
        self.rng = random.Random(seed)  # its own stream: the matcher's seeded choices stay as they were
        self.spread = spread
        self.volatility = volatility
        self.quotes: dict[str, Quote] = {}
        for pair, tick in ticks.items():
            self.quotes[pair] = self._quote(pair, tick, START_MIDS.get(pair, Decimal(100)))
        self.on_move: list[Listener] = []
        self.on_summary: list[Listener] = []

    def _quote(self, pair: str, tick: Decimal, mid: Decimal) -> Quote:
        bid, ask = self._around(mid, tick, self.spread)
        last = _on_tick(mid, tick, False)
        return Quote(pair, tick, bid, ask, last, last, ask, bid, created=now_iso())

    @staticmethod
    def _around(mid: Decimal, tick: Decimal, spread: Decimal) -> tuple[Decimal, Decimal]:
        half = mid * spread / 2
        bid = _on_tick(mid - half, tick, False)
        ask = max(_on_tick(mid + half, tick, True), bid + tick)
        return max(bid, tick), max(ask, bid + tick)

    def quote(self, pair: str) -> Quote | None:
        return self.quotes.get(pair.upper())

    # ---- moves ----------------------------------------------------------------------------------

    def set(self, pair: str, *, bid: Decimal | None = None, ask: Decimal | None = None,
            mid: Decimal | None = None, last: Decimal | None = None, spread: Decimal | None = None,
            level_qty: Decimal | None | str = "keep", depth: Decimal | None | str = "keep",
            slippage_band: Decimal | None = None, level_step: Decimal | None = None) -> Quote:
        """Admin: put the market where a test wants it. Only the given fields change."""
        q = self.quotes[pair.upper()]
        if mid is not None:
            bid, ask = self._around(mid, q.tick, self.spread if spread is None else spread)
        elif spread is not None and bid is None and ask is None:
            bid, ask = self._around(q.mid, q.tick, spread)
        new_bid, new_ask = (q.bid if bid is None else bid), (q.ask if ask is None else ask)
        if not 0 < new_bid < new_ask:
            raise ValueError(f"{q.pair}: need 0 < bid < ask, got bid {new_bid}, ask {new_ask}")
        if level_qty != "keep":
            q.level_qty = level_qty  # type: ignore[assignment]
        if depth != "keep":
            q.depth = depth  # type: ignore[assignment]
        if slippage_band is not None:
            q.slippage_band = slippage_band
        if level_step is not None:
            q.level_step = level_step
        if last is not None:
            q.last = last
        self._move(q, new_bid, new_ask)
        return q

    def jump(self, pair: str, fraction: Decimal) -> Quote:
        """Admin: the whole market moves by a fraction at once (+0.01 = 1 % up)."""
        q = self.quotes[pair.upper()]
        bid, ask = self._around(q.mid * (1 + fraction), q.tick, (q.ask - q.bid) / q.mid)
        self._move(q, bid, ask)
        return q

    def step(self) -> None:
        """One step of the random walk for every pair (mode "market")."""
        for q in self.quotes.values():
            factor = Decimal(str(math.exp(self.rng.gauss(0.0, self.volatility))))
            bid, ask = self._around(q.mid * factor, q.tick, self.spread)
            if (bid, ask) != (q.bid, q.ask):
                self._move(q, bid, ask)

    def traded(self, pair: str, price: Decimal, quantity: Decimal) -> None:
        """A trade happened at this price: last, volume, high and low follow."""
        q = self.quotes[pair]
        q.last = price
        q.base_volume += quantity
        q.quote_volume += price * quantity
        q.high, q.low = max(q.high, price), min(q.low, price)
        q.created = now_iso()
        self._notify(self.on_summary, q.pair)

    def _move(self, q: Quote, bid: Decimal, ask: Decimal) -> None:
        q.bid, q.ask = bid, ask
        q.high, q.low = max(q.high, ask), min(q.low, bid)
        q.created = now_iso()
        self._notify(self.on_summary, q.pair)
        self._notify(self.on_move, q.pair)

    @staticmethod
    def _notify(listeners: list[Listener], pair: str) -> None:
        for listener in listeners:
            listener(pair)


def _on_tick(price: Decimal, tick: Decimal, up: bool) -> Decimal:
    return (price / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR) * tick
