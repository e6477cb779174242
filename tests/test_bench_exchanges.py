"""Figure 12 (`valr-monitor bench`, worker/lab/bench/exchanges.py) runs at tiny size: every fill the double
sent is matched to the commit that recorded it and reported beside the commit floor of the same run, the
fallback's two steps beside its bare-client floor; a recorded run without figure 12 still compares. One
exchange here (Coinbase: its fills take the REST follow-up, the longest path), to stay short; every
exchange runs in the quick bench of test_bench_smoke. A smoke test: speed is never pass/fail here."""

from __future__ import annotations

import math

import pytest

from worker.lab.bench.compare import comparables, compare
from worker.lab.bench.exchanges import message_words, run_exchanges

pytestmark = pytest.mark.slow
ONE = "coinbase"


class OneDatabase:
    """The bench's Cluster face over the test's fresh migrated database (no template to migrate again)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def database(self, label: str) -> str:
        return self.url

    def drop(self, url: str) -> None:
        pass


@pytest.fixture
def figure(db_url, tmp_path):
    return run_exchanges(OneDatabase(db_url), tmp_path, True, names=(ONE,), sizes=(10.0, 0.5, 1, 1))


def finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_an_exchange_reports_fill_to_commit_and_the_fallback_beside_their_floors(figure):
    assert figure.data["exchanges"] == [ONE]
    for name in [ONE]:
        entry = figure.data[name]
        assert entry["samples"] >= 5 and entry["unmatched"] == 0, (name, entry)  # every fill matched to its send
        assert entry["floor_samples"] > 0
        assert all(finite(entry[k]) for k in ("p50_ms", "p99_ms", "floor_p99_ms", "ratio_p50", "ratio_p99")), entry
        assert entry["fallback_outcome"] == "replaced"
        assert all(finite(entry[f"{floor}{key}_p50_ms"]) for floor in ("", "floor_")
                   for key in ("due_to_cancel", "cancelled_to_market")), entry
        rows = [r for r in figure.rows if r[0].startswith(f"12 {name} ")]
        assert len(rows) == 3 and rows[0][3].endswith("×")
        assert not math.isnan(comparables({"exchanges": figure.data})[f"12 {name} fill → commit p99"]["ratio"])
    # bench --compare: a recording without figure 12 (every recording before it) is "not recorded"
    assert {r.verdict for r in compare(comparables({"exchanges": figure.data}), {})} == {"not recorded"}


def test_each_exchanges_fill_and_cancel_messages_are_read_in_its_documented_shape():
    kraken = '{"channel":"executions","type":"update","data":[{"exec_type":"trade","exec_id":"T1","order_id":"O1"}]}'
    coinbase = ('{"channel":"user","events":[{"type":"update","orders":[{"order_id":"O2","number_of_fills":"2",'
                '"status":"CANCELLED"}]}]}')
    binance = '{"e":"executionReport","x":"TRADE","X":"PARTIALLY_FILLED","i":7,"z":"0.50000000"}'
    assert message_words(kraken) == ([("trade", "T1")], [])
    assert message_words(coinbase) == ([("nth", "O2", 2)], ["O2"])
    assert message_words(binance) == ([("cum", "7", "0.5")], [])
    assert message_words('{"event":{"e":"executionReport","x":"CANCELED","X":"CANCELED","i":8}}') == ([], ["8"])
