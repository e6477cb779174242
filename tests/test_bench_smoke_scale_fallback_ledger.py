"""The quick bench's figures 6-11 (scale, crowded subaccount, fallback, ledger REST, deposit → NOTIFY,
catch-up): one `bench --quick --json` run of them (tests/support/bench.py; figures 1-5 in
test_bench_smoke.py, 12 in test_bench_smoke_exchanges.py). A smoke test: speed is never pass/fail here."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bench import GROUPS, assert_figures_have_their_keys, quick_bench


@pytest.fixture(scope="module")
def report() -> dict:
    return quick_bench(Path(__file__).name)


def test_every_figure_has_its_keys_and_numbers(report):
    assert_figures_have_their_keys(report, ("scale", "crowded_subaccount", "fallback", "ledger_rest",
                                            "deposit_to_notify", "catch_up"))


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


def test_only_runs_the_figures_it_names(report):
    """`--only` (given five times here) measures those figures alone: no other module is run, and the
    table holds only figures 6-11's rows (the human table prints these rows). A name that is no module
    is refused before anything runs."""
    assert set(report["seconds_by_module"]) == set(GROUPS[Path(__file__).name])
    assert report["table"] and {row[0].split()[0] for row in report["table"]} == {"6", "7", "8", "9", "10", "11"}
    assert "event_to_commit" not in report and "exchanges" not in report
    refused = subprocess.run([sys.executable, "-m", "worker", "bench", "--only", "no_such_figure"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "no_such_figure" in refused.stderr
