"""`valr-monitor bench --quick --json` runs end to end at tiny size and reports every figure with its
floor. A smoke test only: speed is never pass/fail here (shared, noisy machines). Figures 1-5 here;
6-11 in test_bench_smoke_scale_fallback_ledger.py, 12 in test_bench_smoke_exchanges.py: one bench run
per file, so the suite's two processes can run them side by side (tests/support/bench.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench import GROUPS, assert_figures_have_their_keys, quick_bench


@pytest.fixture(scope="module")
def report() -> dict:
    return quick_bench(Path(__file__).name)


def test_every_figure_has_its_keys_and_numbers(report):
    assert_figures_have_their_keys(report, ("event_to_commit", "throughput", "insert_to_monitor", "rest_calls",
                                            "safety_net_query"))


def test_every_figure_of_the_bench_is_run_by_one_smoke_file():
    """Splitting the quick bench over files leaves no figure out (and runs none twice)."""
    from worker.lab.bench.command import NAMES

    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(NAMES)
    here = Path(__file__).parent
    assert all((here / file).is_file() for file in GROUPS), GROUPS


def test_comparisons_are_made_on_durable_settings_in_the_same_run(report):
    postgres = report["postgres"]
    assert (postgres["fsync"], postgres["synchronous_commit"], postgres["full_page_writes"]) == ("on", "on", "on")
    assert postgres["server_version"].split(".")[0].isdigit()  # the machine is part of the record
    assert report["quick"] is True
    assert set(report["seconds_by_module"]) == set(GROUPS["test_bench_smoke.py"])  # what each module cost
    assert report["event_to_commit"]["floor_samples"] > 0 and report["event_to_commit"]["samples"] > 0
    # Every frame the simulator sent was matched to the commit that recorded it.
    assert report["event_to_commit"]["unrecorded"] == 0
    assert report["event_to_commit"]["last_mismatch"] == 0


def test_the_socket_floor_matched_every_frame_it_committed(report):
    """Figure 1's socket floor (a bare client on the worker's socket reader, one-row commits) heard and
    committed every order event the simulator sent it, each matched to its NOTIFY."""
    floor = report["event_to_commit"]["socket_floor"]
    assert [r["n"] > 0 and r["unrecorded"] == 0 and r["last_mismatch"] == 0 for r in floor["runs"]] == [True]
    assert 0 < floor["p50_ms"] <= floor["p99_ms"]


def test_the_simulated_day_ends_with_the_exchanges_truth(report):
    for name, scenario in report["rest_calls"]["scenarios"].items():
        assert scenario["ground_truth_ok"], (name, scenario)
