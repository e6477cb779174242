"""`valr-monitor audit` end to end (issue 23): the real simulator, the real database, a real worker
process, and the command run as the least-privileged worker login. A clean day exits 0 and says so; a
fill VALR has and the database lacks (a fill kept off the order socket while the worker is stopped)
is named with its transaction and amounts, fetched, recorded once and resolved, exit 1; a balance
VALR moved without a transaction is named with both amounts; VALR unreachable exits 2."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from click.testing import CliRunner

from tests.harness import API_KEY, API_SECRET, wait_for
from worker.daemon.audit import FETCHED
from worker.ops.audit import audit

DAY_MARGIN = timedelta(minutes=3)  # longer than any test here takes on a loaded 2-core machine


@pytest.fixture(autouse=True)
def one_utc_day():
    """The audits here name today (UTC), the day their trades happen: a test starting in the last minutes
    of a day waits for the next one, so its trades and its audits share a day."""
    now = datetime.now(timezone.utc)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), timezone.utc)
    if midnight - now < DAY_MARGIN:
        time.sleep((midnight - now).total_seconds() + 1)


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def run_audit(worker_url: str, base_url: str, *args: str):
    env = {"VALR_API_KEY": API_KEY, "VALR_API_SECRET": API_SECRET, "VALR_BASE_URL": base_url,
           "DATABASE_URL": worker_url}
    return CliRunner().invoke(audit, ["--day", today(), *args], env=env, catch_exceptions=False)


def findings(orders) -> list[dict]:
    cols = ["kind", "ext_order_id", "currency", "transaction_ids", "valr_qty", "our_qty", "valr_balance",
            "our_balance", "resolved_at", "resolution"]
    return [dict(zip(cols, row)) for row in orders.sql(
        f"SELECT {', '.join(cols)} FROM lth_pvr.audit_findings ORDER BY finding_id")]


def test_a_clean_day_exits_0_and_a_fill_valr_has_and_we_lack_is_named_fetched_and_resolved(
        sim, orders, start_worker, worker_url):
    account = orders.account("")
    orders.settle(audit_settle_seconds=0)
    worker = start_worker()
    order_id, intent = orders.insert(account, qty="0.0002")
    orders.wait_status(order_id, "submitted")
    sim.fill(str(intent), "0.0001")
    wait_for(lambda: len(orders.fills(order_id)) == 1, what="the first fill")
    clean = run_audit(worker_url, sim.base_url, "--account", str(account))
    assert clean.exit_code == 0, clean.output
    assert "CLEAN: 0 findings; 1 order(s) compared" in clean.output
    assert orders.sql("SELECT verdict, findings FROM lth_pvr.audit_runs") == [("clean", 0)]
    # The daily job (pg_cron's ledger_audit) asks; the running worker claims and runs the same audit.
    orders.settle(audit_hour_utc=0)
    orders.sql("SELECT lth_pvr.ledger_audit_tick()")
    daily = "SELECT claimed_by IS NOT NULL, verdict FROM lth_pvr.audit_runs WHERE ran_by = 'cron'"
    wait_for(lambda: orders.sql(daily) == [(True, "clean")], what="the daily audit run by the worker")

    # The second fill reaches VALR's history and balances, never the order socket, and no worker runs.
    worker.stop()
    sim.faults(fills_off_socket=1)
    sim.fill(str(intent), "0.0001")
    found = run_audit(worker_url, sim.base_url, "--account", str(account), "--json")
    assert found.exit_code == 1, found.output
    ext = orders.get(order_id)["ext_order_id"]
    txs = [t for (t,) in orders.sql("SELECT transaction_id FROM lth_pvr.account_transactions "
                                    "WHERE additional_info->>'orderId' = %s ORDER BY event_at", (ext,))]
    [missing] = findings(orders)
    assert (missing["kind"], missing["ext_order_id"], missing["transaction_ids"]) == ("missing_fill", ext, txs)
    assert orders.sql("SELECT transaction_id FROM lth_pvr.audit_findings") == [(txs[-1],)]  # the newest named
    assert (missing["valr_qty"], missing["our_qty"]) == (Decimal("0.0002"), Decimal("0.0001"))
    assert missing["resolved_at"] is not None and missing["resolution"] == FETCHED
    assert txs[-1] in found.output and '"verdict": "mismatch"' in found.output
    trades = [t["id"] for t in sim.truth()["trades"] if t["orderId"] == ext]
    assert sorted(t for t, _ in orders.fills(order_id)) == sorted(trades) and len(trades) == 2
    assert not orders.sql("SELECT 1 FROM lth_pvr.v_alerts WHERE name = 'ledger_mismatch'")


def test_a_balance_valr_moved_without_a_transaction_is_named_with_both_amounts(sim, orders, worker_url):
    account = orders.account("")
    orders.settle(audit_settle_seconds=0)
    opened = run_audit(worker_url, sim.base_url)
    assert opened.exit_code == 0 and "CLEAN" in opened.output, opened.output
    before = Decimal(orders.sql("SELECT opening_balance FROM lth_pvr.ledger_checkpoints WHERE currency = 'BTC'")[0][0])
    sim.balance("", "BTC", str(before + 1))
    moved = run_audit(worker_url, sim.base_url, "--account", str(account))
    assert moved.exit_code == 1 and "MISMATCH" in moved.output, moved.output
    [finding] = findings(orders)
    assert (finding["kind"], finding["currency"]) == ("balance_mismatch", "BTC")
    assert (finding["valr_balance"], finding["our_balance"]) == (before + 1, before)
    assert orders.sql("SELECT name, level FROM lth_pvr.v_alerts WHERE name = 'ledger_mismatch'") == [
        ("ledger_mismatch", "critical")]


def test_valr_unreachable_exits_2_and_the_run_failed(orders, worker_url):
    orders.account("")
    failed = run_audit(worker_url, "http://127.0.0.1:9")
    assert failed.exit_code == 2 and "FAILED" in failed.output, failed.output
    assert orders.sql("SELECT verdict FROM lth_pvr.audit_runs") == [("failed",)]


def test_a_ledger_sync_held_by_another_worker_is_waited_for_then_the_audit_fails(sim, orders, worker_url,
                                                                                 monkeypatch):
    import worker.daemon.audit as audit_module
    account = orders.account("")
    orders.sql("SELECT * FROM lth_pvr.claim_ledger_syncs('another-worker', ARRAY[%s]::uuid[])", (account,))
    monkeypatch.setattr(audit_module, "SYNC_WAIT_S", 0.3)
    held = run_audit(worker_url, sim.base_url, "--account", str(account))
    assert held.exit_code == 2 and "held by another worker" in held.output, held.output
    assert orders.sql("SELECT verdict FROM lth_pvr.audit_runs") == [("failed",)]
    # Released (that worker's sync finished): the audit takes the claim and reads.
    orders.sql("SELECT lth_pvr.record_ledger_sync_failed(%s, 'gone')", (account,))
    assert run_audit(worker_url, sim.base_url, "--account", str(account)).exit_code == 0
