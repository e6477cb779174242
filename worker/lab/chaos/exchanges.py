"""The chaos soak's other exchanges (issue 25): one account on each of Binance, Kraken and Coinbase (their
doubles, driven by the workers through unmodified ccxt) takes a seeded share of the run's orders — limit
buys and sells near the market, a part of them with a short fallback_after — while the doubles' matching
here fills them in parts, moves their markets, and the doubles' faults hit the workers: rate limits, lost
placement answers, dropped and silent sockets. At the end every fault is cleared and what still rests is
filled, and each exchange is checked against its own double's truth (worker/lab/doubles/truth.py): placed
once, each fill once, the status its final word means; and per intent, executed ≤ asked."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from decimal import Decimal

import httpx
import psycopg

from worker.lab.demo_exchanges import Venue
from worker.lab.doubles.truth import check_exchange

FAULTS = ("rate_limit", "lose_placement_answers", "close_sockets", "silent")


class ExchangeStream:
    def __init__(self, rng: random.Random, venues: list[Venue], rows, fallback_share: float) -> None:
        self.rng, self.venues, self.rows = rng, venues, rows
        self.fallback_share = fallback_share
        self.accounts = {v.name: rows("INSERT INTO lth_pvr.exchange_accounts (exchange, label) VALUES (%s, %s) "
                                      "ON CONFLICT (exchange, upper(coalesce(credential_ref, exchange)), subaccount_id) "
                                      "DO UPDATE SET label = EXCLUDED.label RETURNING exchange_account_id",
                                      (v.name, f"chaos {v.name}"))[0][0]
                         for v in venues}
        self.intents: list[uuid.UUID] = []
        self.faults: Counter[str] = Counter()
        self.silent: dict[str, int] = {}  # venue → steps left before its sockets speak again

    # -- orders ----------------------------------------------------------------------------------------
    def insert(self) -> None:
        """One order on a venue drawn from the seed, priced a few ticks from its touch."""
        venue = self.rng.choice(self.venues)
        symbol = venue.symbol()
        market = venue.double.server.exchange.markets[symbol]
        side = self.rng.choice(("BUY", "SELL"))
        ticks = market.tick * self.rng.randint(1, 20)
        price = market.bid - ticks if side == "BUY" else market.ask + ticks
        after = f"{self.rng.randint(2, 6)} seconds" if self.rng.random() < self.fallback_share else None
        intent = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        qty = Decimal("0.001") * self.rng.randint(1, 5)
        self.rows("""INSERT INTO lth_pvr.exchange_orders (exchange_account_id, intent_id, pair, side, price, qty,
                                                          fallback_after)
                     VALUES (%s, %s, %s, %s, %s, %s, %s::interval)""",
                  (self.accounts[venue.name], intent, symbol, side, price, qty, after))
        self.intents.append(intent)

    # -- the doubles' matching and faults -----------------------------------------------------------------
    def step(self, fault_chance: float) -> None:
        """Fill a part of some resting orders, and now and then a fault on one double."""
        for venue in self.venues:
            venue.double.call(self._match, venue)
            left = self.silent.get(venue.name, 0)
            if left == 1:
                self._set_faults(venue, {"silent": False})
            if left:
                self.silent[venue.name] = left - 1
        if self.rng.random() < fault_chance:
            self._fault(self.rng.choice(self.venues), self.rng.choice(FAULTS))

    def _match(self, venue: Venue) -> None:
        ex = venue.double.server.exchange
        for order in [o for o in ex.orders.values() if o.status == "open" and o.type == "limit"]:
            if self.rng.random() < 0.05:
                part = (order.remaining / 2).quantize(ex.markets[order.symbol].step) if self.rng.random() < 0.5 else None
                ex.fill(order, part or None)

    def _fault(self, venue: Venue, kind: str) -> None:
        self.faults[f"{venue.name}:{kind}"] += 1
        if kind == "silent":
            self.silent[venue.name] = 20
            self._set_faults(venue, {"silent": True})
        elif kind == "close_sockets":
            self._set_faults(venue, {"close_sockets": True})
        else:
            self._set_faults(venue, {kind: self.rng.randint(1, 3)})

    @staticmethod
    def _set_faults(venue: Venue, faults: dict) -> None:
        """Through the double's admin API, as an operator of the lab would: each personality acts on a
        fault word there (closing its sockets at once, for `close_sockets`)."""
        httpx.post(f"{venue.double.base_url}/_double/faults", json=faults, timeout=10).raise_for_status()

    def heal(self) -> None:
        for venue in self.venues:
            self._set_faults(venue, {"reset": True})
        self.silent.clear()

    def fill_what_rests(self) -> int:
        """The settle phase: each double fills what still rests, so every order can end."""
        def fill_all(venue: Venue) -> int:
            ex = venue.double.server.exchange
            resting = [o for o in ex.orders.values() if o.status == "open"]
            for order in resting:
                ex.fill(order)
            return len(resting)
        return sum(venue.double.call(fill_all, venue) for venue in self.venues)

    def open_on_exchanges(self) -> int:
        return sum(venue.double.call(lambda v=venue: sum(o.status == "open" for o in v.double.server.exchange.orders.values()))
                   for venue in self.venues)

    # -- the verdict ------------------------------------------------------------------------------------
    def check(self, url: str) -> dict:
        from worker.lab.demo_exchanges import _truth

        per_exchange, problems = {}, []
        with psycopg.connect(url) as conn:
            for venue in self.venues:
                check = check_exchange(conn, venue.name, venue.double.call(_truth, venue.double.server))
                per_exchange[venue.name] = check.summary()
                problems += check.problems()
            over = conn.execute("SELECT count(*) FROM lth_pvr.v_intents WHERE intent_id = ANY(%s) AND filled_qty > qty",
                                (self.intents,)).fetchone()[0]
        ok = all(c["ok"] for c in per_exchange.values()) and over == 0
        return {"ok": ok, "orders": len(self.intents), "by_exchange": per_exchange, "intents_over_executed": over,
                "faults": dict(self.faults), "problems": problems[:10]}
