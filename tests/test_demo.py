"""`valr-monitor demo` end to end at a small size: exit 0, and its JSON report matches the database."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from worker.db.migrate import unschedule_jobs

pytestmark = pytest.mark.slow


def test_demo_json_matches_the_database_it_leaves_behind(db_url, postgresql):
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "worker", "demo", "--orders", "12", "--subaccounts", "3",
             "--json", "--database-url", db_url],
            capture_output=True, text=True, timeout=150,
        )
    finally:
        unschedule_jobs(db_url)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)

    by_status = dict(postgresql.execute(
        "SELECT status, count(*) FROM lth_pvr.exchange_orders GROUP BY 1").fetchall())
    assert {k: v for k, v in report["orders_by_status"].items() if v} == by_status
    assert sum(by_status.values()) == 12
    assert report["fills"] == postgresql.execute("SELECT count(*) FROM lth_pvr.order_fills").fetchone()[0]
    assert report["ground_truth"]["ok"] is True
    assert report["ground_truth"]["fills_lost"] == report["ground_truth"]["fills_doubled"] == 0
    assert report["all_final"] is True
    # The progress display went to stderr; stdout is exactly one JSON object.
    assert "inserted" in proc.stderr
    rest = report["rest_calls"]
    assert rest["by_endpoint"]["POST /v1/orders/limit"] == 12
    assert set(report["metrics"]) == {"v_ws_coverage", "v_polls_per_order", "v_completion_time",
                                      "v_update_method", "v_final_status_source"}
