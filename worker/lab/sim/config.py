"""The simulator's settings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class SimConfig:
    # "manual": nothing fills until told (/_sim/fill …) — deterministic tests.
    # "auto": the matching model fills, cancels, expires and fails orders over time.
    # "market": the price walks (seeded) and orders fill only when the market reaches them; a limit
    #   priced through the market trades at once.
    # In every mode the admin API can set or jump the price, which fills the resting orders it reaches.
    mode: str = "manual"
    fill_delay_s: float = 0.2               # auto: mean delay before each fill (jittered ±50%)
    fills_per_order: tuple[int, int] = (1, 3)  # auto: inclusive range of trades per filled order
    cancel_fraction: float = 0.0            # auto: share of orders cancelled by "the exchange/user"
    expire_fraction: float = 0.0            # auto: share that expire
    fail_fraction: float = 0.0              # auto: share that fail at processing (e.g. balance)
    seed: int | None = None
    process_delay_s: float = 0.0            # 202 → ORDER_PROCESSED delay (placement is asynchronous)
    enforce_limits: bool = True             # 60 WS connects/min, REST budgets; False for benchmarks
    ws_connects_per_minute: int = 60
    rest_per_minute_key: int = 2000
    rest_per_minute_ip: int = 1200
    orders_per_second: int = 400
    timestamp_window_ms: int = 30_000       # VALR's tolerance is undocumented; ±30 s here
    stamp_frames: bool = False              # keep an admin log of every frame's send time
    taker_fee_rate: Decimal = Decimal("0.001")
    market_spread: Decimal = Decimal("0.001")  # ask − bid as a fraction of the mid
    market_volatility: float = 0.0005       # standard deviation of one walk step (log of the mid)
    market_step_s: float | None = None      # walk interval; None = 0.25 s in mode "market", else no walk

    @property
    def walk_every_s(self) -> float:
        if self.market_step_s is not None:
            return self.market_step_s
        return 0.25 if self.mode == "market" else 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("manual", "auto", "market"):
            raise ValueError(f"mode must be 'manual', 'auto' or 'market', got {self.mode!r}")
        low, high = self.fills_per_order
        if not 1 <= low <= high:
            raise ValueError("fills_per_order must be a range (low, high) with 1 <= low <= high")
