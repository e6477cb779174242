"""The quick bench's figure 12 (every exchange through ccxt and its double): one `bench --quick --json
--only exchanges` run (tests/support/bench.py; figures 1-11 in the other test_bench_smoke files). A smoke
test: speed is never pass/fail here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench import quick_bench


@pytest.fixture(scope="module")
def report() -> dict:
    return quick_bench(Path(__file__).name)


def test_figure_12_matches_every_fill_of_every_exchange_to_its_commit(report):
    from worker.lab.bench.exchanges import EXCHANGES

    figure = report["exchanges"]
    assert figure["exchanges"] == list(EXCHANGES)
    for name in EXCHANGES:
        entry = figure[name]
        assert entry["samples"] > 0 and entry["unmatched"] == 0, (name, entry)
        assert entry["fallback_outcome"] == "replaced" and entry["cancelled_to_market_n"] > 0, (name, entry)
