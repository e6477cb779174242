"""`valr-monitor bench --compare FILE`: this run's figures beside a recorded run's (a `--json` output,
docs/bench/*.json), as ratios to their floors — machine-independent, unlike milliseconds — and a
regression guard: a figure worse than the recorded one by more than the recorded spread fails the run.

Spread: each comparable figure is measured in sub-runs that alternate with its floor's (figure 1's
repetitions, figure 2's runs, figure 7's crowded/normal runs, figure 8's price rounds, figure 12's
repetitions per exchange). A sub-run's ratio
is its value over its own floor sub-run's; the figure's value is the median of those ratios and its
spread their interquartile range: a difference within it is noise this bench itself measured.
`comparables(report)` computes them; run_bench stores them under the report's "compare" key, so a
recorded run carries its own spread (an older recording without the key is derived from its runs).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

LOWER, HIGHER = "lower", "higher"  # which way is better


@dataclass(frozen=True)
class Spec:
    figure: str
    name: str
    value: Callable[[dict], float]
    runs: str
    floor_runs: str
    better: str = LOWER


def _ms(key: str, stat: str) -> Callable[[dict], float]:
    return lambda run: run[key][stat] if key else run[stat]


SPECS = [
    Spec("event_to_commit", "1 event → commit p50", _ms("", "p50_ms"), "runs", "floor_runs"),
    Spec("event_to_commit", "1 event → commit p99", _ms("", "p99_ms"), "runs", "floor_runs"),
    Spec("throughput", "2 throughput", _ms("", "events_per_s"), "runs", "floor_runs", HIGHER),
    Spec("crowded_subaccount", "7 fill → commit p50, crowded", _ms("", "p50_ms"), "runs", "normal_runs"),
    Spec("crowded_subaccount", "7 fill → commit p99, crowded", _ms("", "p99_ms"), "runs", "normal_runs"),
    Spec("fallback", "8 price frame → DELETE p50", _ms("price_to_cancel", "p50_ms"), "runs", "floor_runs"),
    Spec("fallback", "8 price frame → DELETE p99", _ms("price_to_cancel", "p99_ms"), "runs", "floor_runs"),
    Spec("fallback", "8 Cancelled frame → market POST p50", _ms("cancelled_to_market", "p50_ms"), "runs",
         "floor_runs"),
    Spec("fallback", "8 Cancelled frame → market POST p99", _ms("cancelled_to_market", "p99_ms"), "runs",
         "floor_runs"),
    *(Spec("exchanges", f"12 {name} fill → commit {stat}", _ms("", f"{stat}_ms"), f"runs_{name}", f"floor_runs_{name}")
      for name in ("binance", "kraken", "coinbase") for stat in ("p50", "p99")),
]


class RecordedRunError(Exception):
    """The recorded file cannot be compared with (not JSON, not a bench report, a malformed figure)."""


def comparables(report: dict) -> dict[str, dict]:
    """Each comparable figure of a report: {"ratio": median of the sub-run ratios, "spread": their IQR,
    "better": "lower"/"higher", "subruns": n}. Figures the report lacks (or lacks runs for) are left out."""
    out = {}
    for spec in SPECS:
        data = report.get(spec.figure)
        if not isinstance(data, dict) or spec.runs not in data or spec.floor_runs not in data:
            continue
        ratios = [spec.value(ours) / spec.value(floor)
                  for ours, floor in zip(data[spec.runs], data[spec.floor_runs]) if spec.value(floor)]
        if ratios:
            out[spec.name] = {"ratio": round(statistics.median(ratios), 3), "spread": round(spread(ratios), 3),
                              "better": spec.better, "subruns": len(ratios)}
    return out


def spread(values: list[float]) -> float:
    """The interquartile range: how far sub-runs of one run differ, a single slow round aside (figure 8's
    rounds hold 5 samples each, so one round's p99 is its max). Two sub-runs: half their difference."""
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


@dataclass(frozen=True)
class Row:
    name: str
    ratio: float
    recorded: float | None     # None: not recorded
    spread: float | None       # the recorded spread
    verdict: str               # "ok", "better", "WORSE", "not recorded"

    @property
    def change(self) -> float | None:
        return None if self.recorded in (None, 0) else self.ratio / self.recorded


def compare(current: dict[str, dict], recorded: dict[str, dict]) -> list[Row]:
    """This run's comparables beside the recorded ones. WORSE: beyond the recorded value by more than the
    recorded spread in the bad direction; better: beyond it in the good one; a figure the recorded run
    lacks is "not recorded" (never a failure)."""
    rows = []
    for name, now in current.items():
        was = recorded.get(name)
        if was is None:
            rows.append(Row(name, now["ratio"], None, None, "not recorded"))
            continue
        sign = 1 if now["better"] == LOWER else -1  # > 0: worse
        excess = sign * (now["ratio"] - was["ratio"]) - was["spread"]
        verdict = "WORSE" if excess > 0 else "better" if sign * (was["ratio"] - now["ratio"]) > was["spread"] else "ok"
        rows.append(Row(name, now["ratio"], was["ratio"], was["spread"], verdict))
    return rows


def load_recorded(path: Path) -> dict[str, dict]:
    """A recorded report's comparables: its "compare" section, else derived from its figures' runs."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordedRunError(f"{path}: not a readable JSON bench report ({exc})") from None
    if not isinstance(report, dict) or "command" not in report:
        raise RecordedRunError(f"{path}: not a bench report (a `valr-monitor bench --json` output)")
    try:
        figures = report["compare"] if "compare" in report else comparables(report)
        return {name: _checked(name, fig) for name, fig in figures.items()}
    except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError) as exc:
        raise RecordedRunError(f"{path}: a figure is malformed ({type(exc).__name__}: {exc})") from None


def _checked(name: str, figure: dict) -> dict:
    ratio, spread = float(figure["ratio"]), float(figure["spread"])
    if figure["better"] not in (LOWER, HIGHER) or spread < 0:
        raise ValueError(f"{name}: better={figure['better']!r}, spread={spread}")
    return {"ratio": ratio, "spread": spread, "better": figure["better"]}


def table(rows: list[Row]) -> list[str]:
    head = ("figure (ratio to its floor)", "this run", "recorded", "this/recorded", "recorded spread", "")
    body = [(r.name, f"{r.ratio:.2f}×", "not recorded" if r.recorded is None else f"{r.recorded:.2f}×",
             "" if r.change is None else f"{r.change:.2f}", "" if r.spread is None else f"±{r.spread:.2f}", r.verdict)
            for r in rows]
    widths = [max(len(str(line[i])) for line in [head, *body]) for i in range(len(head))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *body]]


def any_worse(rows: list[Row]) -> bool:
    return any(r.verdict == "WORSE" for r in rows)
