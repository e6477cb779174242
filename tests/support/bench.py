"""The quick bench in the suite: `valr-monitor bench --quick --json --only …` run once per smoke file,
each file a group of figures, so the two test processes can run groups side by side (one run of every
figure took ~190 s in one file, the longest of the suite). GROUPS names every module of the bench once
(tests/test_bench_smoke.py checks it): no figure is left out of the suite."""

from __future__ import annotations

import json
import math
import subprocess
import sys

# Each smoke file's bench modules (`--only` names, worker/lab/bench/command.py's NAMES).
GROUPS = {
    "test_bench_smoke.py": ("latency", "throughput", "rest", "query"),                          # figures 1-5
    "test_bench_smoke_scale_fallback_ledger.py": ("scale", "crowded", "fallback", "ledger_rest", "ledger"),  # 6-11
    "test_bench_smoke_exchanges.py": ("exchanges",),                                           # figure 12
}

# The keys documented in the README's performance section (stable for programs reading --json).
REQUIRED = {
    "event_to_commit": ("p50_ms", "p99_ms", "floor_p99_ms", "ratio_p99"),
    "throughput": ("events_per_s", "floor_events_per_s", "ratio"),
    "insert_to_monitor": ("p50_ms", "p99_ms"),
    "rest_calls": ("hybrid_status_polls_per_order", "polling_baseline_calls_per_order", "idle_tick_calls"),
    "safety_net_query": ("ms_10k", "ms_100k", "ms_1m", "uses_index"),
    "scale": ("subaccounts", "rss_mb", "p50_ms", "p99_ms", "floor_p99_ms", "ramp_s", "valr_ramp_minutes"),
    "crowded_subaccount": ("open_orders", "p50_ms", "p99_ms", "normal_p50_ms", "normal_p99_ms", "rss_peak_mb",
                           "lists_superseded"),
    "fallback": ("price_to_cancel_p50_ms", "price_to_cancel_p99_ms", "floor_price_to_cancel_p50_ms",
                 "floor_price_to_cancel_p99_ms", "cancelled_to_market_p50_ms", "cancelled_to_market_p99_ms",
                 "floor_cancelled_to_market_p50_ms", "floor_cancelled_to_market_p99_ms", "due_to_cancel_p50_ms",
                 "due_to_cancel_p99_ms", "floor_due_to_cancel_p99_ms", "calls_per_fallback", "price_rest_calls",
                 "mean_trigger_to_cancel_ms", "mean_trigger_to_market_ms"),
    "ledger_rest": ("across_calls_per_hour", "per_account_calls_per_hour", "across_growth"),
    "deposit_to_notify": ("p50_ms", "p99_ms", "floor_p50_ms", "floor_p99_ms", "ratio_p99"),
    "catch_up": ("rows_per_s", "floor_rows_per_s", "ratio"),
}


def quick_bench(file: str) -> dict:
    """One `bench --quick --json` run of the figures of `file` (its GROUPS entry)."""
    only = [arg for name in GROUPS[file] for arg in ("--only", name)]
    proc = subprocess.run([sys.executable, "-m", "worker", "bench", "--quick", "--json", *only],
                          capture_output=True, text=True, timeout=480)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["quick"] is True
    print(f"{file}: seconds by module {report['seconds_by_module']}")  # shown with -s or -rA
    return report


def assert_figures_have_their_keys(report: dict, figures: tuple[str, ...]) -> None:
    """Every documented key of these figures is there, a finite number ≥ 0 (uses_index a boolean)."""
    for figure in figures:
        for key in REQUIRED[figure]:
            value = report[figure][key]
            if key == "uses_index":
                assert isinstance(value, bool), (figure, key, value)
            else:
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (figure, key, value)
                assert math.isfinite(value) and value >= 0, (figure, key, value)
