"""`valr-monitor bench --compare FILE`, the regression guard: ratios to the floor beside a recorded run's,
a figure worse than the recorded one by more than its recorded spread fails, a figure the recording lacks
is "not recorded", a malformed recording exits 2. The comparison is a pure function; one CLI test runs the
command on a tiny recorded file (the bench itself stubbed: its figures are the smoke test's subject)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from worker.lab.bench import command
from worker.lab.bench.compare import HIGHER, LOWER, compare, comparables, load_recorded, RecordedRunError

P99 = "1 event → commit p99"


def fig(ratio: float, spread: float, better: str = LOWER) -> dict:
    return {"ratio": ratio, "spread": spread, "better": better}


def verdicts(current: dict, recorded: dict) -> dict[str, str]:
    return {r.name: r.verdict for r in compare(current, recorded)}


def test_a_figure_is_worse_only_beyond_the_recorded_spread_in_its_bad_direction():
    recorded = {"a": fig(2.0, 0.5), "b": fig(2.0, 0.5), "c": fig(0.3, 0.05, HIGHER), "d": fig(2.0, 0.5)}
    current = {"a": fig(2.4, 0.1), "b": fig(2.6, 0.1), "c": fig(0.2, 0.01, HIGHER), "d": fig(1.2, 0.1)}
    assert verdicts(current, recorded) == {"a": "ok", "b": "WORSE", "c": "WORSE", "d": "better"}


def test_a_figure_the_recording_lacks_is_not_recorded_and_not_a_failure():
    [row] = compare({"new": fig(3.0, 0.2)}, {})
    assert (row.verdict, row.recorded, row.change) == ("not recorded", None, None)


def test_this_over_recorded_is_the_ratio_of_the_two_ratios():
    [row] = compare({"a": fig(3.0, 0.2)}, {"a": fig(2.0, 1.5)})
    assert (row.change, row.verdict) == (1.5, "ok")


def test_each_figure_reports_the_median_and_interquartile_range_of_its_sub_run_ratios():
    report = {"event_to_commit": {"runs": [{"p50_ms": 2, "p99_ms": 4}, {"p50_ms": 3, "p99_ms": 6},
                                           {"p50_ms": 4, "p99_ms": 5}, {"p50_ms": 3, "p99_ms": 5},
                                           {"p50_ms": 3, "p99_ms": 40}],
                                  "floor_runs": [{"p50_ms": 1, "p99_ms": 2}] * 5},
              "throughput": {"runs": [{"events_per_s": 10}], "floor_runs": [{"events_per_s": 40}]}}
    got = comparables(report)
    # p99 ratios 2, 3, 2.5, 2.5, 20: one slow sub-run does not make the spread (quartiles 2.5 and 3)
    assert got[P99] == {"ratio": 2.5, "spread": 0.5, "better": LOWER, "subruns": 5}
    assert got["1 event → commit p50"]["ratio"] == 3.0
    assert got["2 throughput"] == {"ratio": 0.25, "spread": 0.0, "better": HIGHER, "subruns": 1}
    assert "8 Cancelled frame → market POST p99" not in got  # figure not run


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"date": "x"}',
                                  '{"command": "valr-monitor bench", "compare": {"a": {"ratio": "x"}}}'])
def test_a_malformed_recording_is_a_clear_error(tmp_path, text):
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(RecordedRunError, match="run.json"):
        load_recorded(path)


def test_a_recording_made_before_compare_existed_is_derived_from_its_runs(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"command": "valr-monitor bench", "throughput": {
        "runs": [{"events_per_s": 10}, {"events_per_s": 20}], "floor_runs": [{"events_per_s": 40}] * 2}}))
    assert load_recorded(path) == {"2 throughput": {"ratio": 0.375, "spread": 0.125, "better": HIGHER}}


def test_the_cli_prints_both_ratios_and_fails_on_a_regression(tmp_path, monkeypatch):
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps({"command": "valr-monitor bench --only latency",
                                    "compare": {P99: fig(2.0, 0.3), "1 event → commit p50": fig(3.0, 0.2)}}))
    run = {"command": "valr-monitor bench", "date": "now", "machine": {"cpus": 2, "memory_gb": 1, "platform": "x"},
           "postgres": {"fsync": "on", "synchronous_commit": "on"}, "elapsed_s": 1, "notes": [], "table": [],
           "compare": {P99: fig(2.5, 0.1), "1 event → commit p50": fig(3.1, 0.1),
                       "8 Cancelled frame → market POST p99": fig(1.8, 0.4)}}
    monkeypatch.setattr(command, "run_bench", lambda *args: run)
    result = CliRunner().invoke(command.bench, ["--compare", str(recorded)])
    assert result.exit_code == 1, result.output
    lines = {line.split("  ")[0]: line for line in result.output.splitlines()}
    assert "2.50×" in lines[P99] and "2.00×" in lines[P99] and "1.25" in lines[P99] and "WORSE" in lines[P99]
    assert lines["1 event → commit p50"].endswith("ok")
    assert "not recorded" in lines["8 Cancelled frame → market POST p99"]

    run["compare"][P99] = fig(2.2, 0.1)
    assert CliRunner().invoke(command.bench, ["--compare", str(recorded)]).exit_code == 0
    recorded.write_text("{")
    broken = CliRunner().invoke(command.bench, ["--compare", str(recorded)])
    assert broken.exit_code == 2 and "not a readable JSON bench report" in broken.output


def test_a_figure_module_that_fails_costs_its_own_figure_and_the_run_exits_1(monkeypatch):
    """A full run takes ~23 minutes: one module's failure (figure 12's floors once raced to create their
    table) must not lose the figures measured before and after it."""
    import sys
    import types

    from worker.lab.bench.env import Figure

    def broken(cluster, workdir, quick):
        raise RuntimeError("the floor process ended")

    def fine(cluster, workdir, quick):
        return Figure("throughput", {"events_per_s": 1.0}, rows=[("2 throughput", "1", "2", "0.5", "")])

    for name, fn in (("lab.fake_broken", broken), ("lab.fake_fine", fine)):
        module = types.ModuleType(name)
        module.run = fn
        monkeypatch.setitem(sys.modules, name, module)

    class NoCluster:  # the figures above touch no database
        def __init__(self, url): pass
        def start(self): return self
        def durable_settings(self): return {"fsync": "on", "synchronous_commit": "on"}
        def stop(self): pass

    monkeypatch.setattr(command, "Cluster", NoCluster)
    monkeypatch.setattr(command, "FIGURES", [("lab.fake_broken", "run"), ("lab.fake_fine", "run")])
    said: list[str] = []
    report = command.run_bench(None, True, said.append)
    assert report["failed"] == {"fake_broken": "RuntimeError: the floor process ended"}
    assert report["throughput"] == {"events_per_s": 1.0}
    assert set(report["seconds_by_module"]) == {"fake_broken", "fake_fine"}
    assert any("fake_broken FAILED" in line for line in said)

    result = CliRunner().invoke(command.bench, ["--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["throughput"] == {"events_per_s": 1.0}
    assert "1 figure module(s) failed: fake_broken" in result.stderr
