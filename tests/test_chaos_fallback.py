"""`valr-monitor chaos` with issue 16's share of limit orders with a fallback and its faults on that path
(a cancel's answer lost, a fill racing the cancel, cancels completing late, the trade socket dropped or
silent, price jumps both ways; issue 21's pair left out of the trade feed, one-frame spikes and a
person's cancel racing a fallback), at a short fixed-seed size: every intent executed at most what it asked,
every replacement placed only after VALR confirmed its original finished, once, for what VALR did not
execute, and no price fallback fired without an adverse move that held for its confirmation — while fallbacks of both reasons fired
and replacements were placed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

SEED = 5
NEW_KINDS = ("cancel_answer_lost", "fill_races_cancel", "cancel_delay", "trade_socket_dropped",
             "trade_socket_silent", "price_jump", "trade_pair_muted", "price_spike",  # the last three: issue 21
             "person_cancels_fallback")


def test_short_fallback_chaos_run_never_over_executes_an_intent():
    proc = subprocess.run(
        [sys.executable, "-m", "worker", "chaos", "--orders", "40", "--minutes", "0.5", "--seed", str(SEED),
         "--fault-every", "1.0", "--cron-every", "8", "--placement-grace", "15", "--fallback-share", "0.5",
         "--faults", ",".join((*NEW_KINDS, "ws_closed", "events_dropped", "worker_sigkill")),
         "--every-kind-first", "--exchange-orders", "0", "--json"],
        capture_output=True, text=True, timeout=170)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, "\n".join(report["problems"] + report["first_mismatch"] + report["fault_timeline"])
    assert report["placed_twice"] == report["fills_lost"] == report["fills_doubled"] == report["status_mismatch"] == 0
    intents = report["intent_check"]
    assert intents["ok"] is True and not any(intents["violations"].values()), intents
    assert set(intents["violations"]) == {"over_executed", "replaced_without_confirmed_cancel",
                                          "replaced_before_cancel_confirmed", "replaced_a_filled_order",
                                          "replaced_twice", "replacement_qty_wrong",
                                          "price_fired_without_adverse_move", "replaced_after_persons_cancel"}
    assert intents["intents"] >= 40 and report["fallback_orders"] > 0
    # The run did what it is for: each new fault class struck, fallbacks of both reasons fired, and
    # market replacements were placed on VALR.
    assert all(report["faults"][kind] >= 1 for kind in NEW_KINDS), report["faults"]
    assert all(report["fault_classes"][kind]["injected"] >= 1 for kind in NEW_KINDS)
    assert all(report["fault_classes"][kind]["mismatches"] == 0 for kind in NEW_KINDS)
    assert intents["fallbacks_by_reason"].get("age", 0) >= 1 and intents["fallbacks_by_reason"].get("price", 0) >= 1, \
        intents
    assert intents["replacements_on_valr"] >= 1, intents
    assert intents["persons_cancels"] >= 1, intents  # a person's cancel met a fallback in flight
    assert report["settled"] is True
