"""`valr-monitor bench --quick --json` runs end to end at tiny size and reports every figure with its
floor. A smoke test only: speed is never pass/fail here (shared, noisy machines)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

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


@pytest.fixture(scope="module")
def report() -> dict:
    proc = subprocess.run([sys.executable, "-m", "worker", "bench", "--quick", "--json"],
                          capture_output=True, text=True, timeout=480)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_every_figure_has_its_keys_and_numbers(report):
    for figure, keys in REQUIRED.items():
        for key in keys:
            value = report[figure][key]
            if key == "uses_index":
                assert isinstance(value, bool), (figure, key, value)
            else:
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (figure, key, value)
                assert math.isfinite(value) and value >= 0, (figure, key, value)


def test_comparisons_are_made_on_durable_settings_in_the_same_run(report):
    postgres = report["postgres"]
    assert (postgres["fsync"], postgres["synchronous_commit"], postgres["full_page_writes"]) == ("on", "on", "on")
    assert postgres["server_version"].split(".")[0].isdigit()  # the machine is part of the record
    assert report["quick"] is True
    assert report["event_to_commit"]["floor_samples"] > 0 and report["event_to_commit"]["samples"] > 0
    # Every frame the simulator sent was matched to the commit that recorded it.
    assert report["event_to_commit"]["unrecorded"] == 0
    assert report["event_to_commit"]["last_mismatch"] == 0


def test_the_simulated_day_ends_with_the_exchanges_truth(report):
    for name, scenario in report["rest_calls"]["scenarios"].items():
        assert scenario["ground_truth_ok"], (name, scenario)


def test_crowded_subaccount_figure_matches_every_fill_to_its_commit(report):
    crowded = report["crowded_subaccount"]
    assert crowded["samples"] > 0 and crowded["normal_samples"] > 0
    assert crowded["unrecorded"] == 0 and crowded["last_mismatch"] == 0
    assert crowded["open_orders_at_end"] == crowded["open_orders"]


def test_every_deposit_is_notified_once_and_every_transaction_caught_up(report):
    deposits, catch_up = report["deposit_to_notify"], report["catch_up"]
    assert deposits["notified"] == deposits["deposits"] == deposits["samples"] > 0
    assert catch_up["recorded"] == catch_up["transactions"] * catch_up["repetitions"]
    assert all(f["rows"] == r["recorded"] for r, f in zip(catch_up["runs"], catch_up["floor_runs"]))


def test_two_workers_own_each_subaccount_once(report):
    assert report["scale"]["two_workers"]["each_owned_once"]


def test_the_cold_start_keeps_within_the_connection_budget_and_catches_every_ledger_up(report):
    cold = report["scale"]["cold_start"]
    assert cold["connections"] >= report["scale"]["subaccounts"] and cold["ws_refused"] == 0
    assert 0 < cold["ws_per_minute_achieved"] <= cold["ws_per_minute_allowed"]
    assert cold["ledger_calls_per_connect"] >= 2  # a history page and the balances per connect
    assert cold["caught_up_s"] >= cold["all_watched_s"] > 0


def test_a_fallback_costs_the_delete_and_the_market_post_and_prices_cost_no_rest_call(report):
    fallback = report["fallback"]
    assert fallback["measured_fallbacks"] > 0 and fallback["price_to_cancel"]["n"] > 0
    assert fallback["due_to_cancel"]["n"] == fallback["age_orders"] > 0
    # Behaviour, not timing: exactly one DELETE and one market POST per fallback, nothing else, and no
    # marketsummary read while the one trade socket stayed up.
    assert (fallback["deletes_per_fallback"], fallback["market_posts_per_fallback"]) == (1, 1)
    assert fallback["calls_per_fallback"] == 2
    assert (fallback["price_rest_calls"], fallback["trade_sockets"]) == (0, 1)
    polling = fallback["polling"]
    for key in ("calls_per_order", "mean_trigger_to_cancel_ms", "mean_trigger_to_market_ms"):
        assert isinstance(polling[key], (int, float)) and math.isfinite(polling[key]), (key, polling[key])
    assert polling["rest_by_route"]["GET /v1/public/{pair}/marketsummary"] == polling["cycles"]


def test_only_runs_the_figure_it_names():
    """`--only query` measures figure 5 alone (the table too): no other figure is run. (Figure 5, the
    quickest: the option is the same for every figure.)"""
    proc = subprocess.run([sys.executable, "-m", "worker", "bench", "--quick", "--only", "query"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "running query" in proc.stdout and "running latency" not in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line[:2] in {f"{n} " for n in range(1, 10)}]
    assert rows and all(line.startswith("5 ") for line in rows), proc.stdout
    refused = subprocess.run([sys.executable, "-m", "worker", "bench", "--only", "no_such_figure"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "no_such_figure" in refused.stderr


def test_figure_12_matches_every_fill_of_every_exchange_to_its_commit(report):
    from worker.lab.bench.exchanges import EXCHANGES

    figure = report["exchanges"]
    assert figure["exchanges"] == list(EXCHANGES)
    for name in EXCHANGES:
        entry = figure[name]
        assert entry["samples"] > 0 and entry["unmatched"] == 0, (name, entry)
        assert entry["fallback_outcome"] == "replaced" and entry["cancelled_to_market_n"] > 0, (name, entry)
