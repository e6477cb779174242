"""`valr-monitor chaos` with one fault only, the claimer of market orders killed between its claim and
its POST (issue 21). A file of its own (not in test_chaos_short.py): the suite's processes take whole
files, so the two chaos runs go to both instead of one after the other."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_a_worker_killed_between_claim_and_post_places_each_order_once():
    """Issue 21: the claimer of market orders is killed (SIGKILL) while their request waits for the
    socket: every such order reaches VALR exactly once, none failed, no intent over-executed."""
    proc = subprocess.run(
        [sys.executable, "-m", "worker", "chaos", "--orders", "12", "--minutes", "0.3", "--seed", "5",
         "--faults", "killed_before_post", "--fault-every", "3", "--cron-every", "8", "--placement-grace", "10",
         "--fallback-share", "0", "--exchange-orders", "0", "--json"],
        capture_output=True, text=True, timeout=180)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, "\n".join(report["problems"] + report["first_mismatch"] + report["fault_timeline"])
    killed = report["fault_classes"]["killed_before_post"]
    assert killed["injected"] >= 1 and killed["mismatches"] == 0, killed
    assert "killed before the POST" in "\n".join(report["fault_timeline"]), report["fault_timeline"]
    assert report["intent_check"]["ok"] is True and report["placed_twice"] == 0
