"""The operator's commands against a real, migrated PostgreSQL: status, metrics, alerts, poll, cancel,
orders. Read commands run as a login role that is only a member of valr_reader (views only); poll
and cancel as the owner. The CLI runs in-process (click's CliRunner); one alerts test runs
`python -m worker alerts` as a subprocess to prove the real exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from click.testing import CliRunner

from tests.support.sql import insert_order
from worker.cli import main



def now() -> datetime:
    return datetime.now(timezone.utc)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> tuple[int, dict]:
    code, out, err = run(*args, "--json")
    assert err == "", err
    return code, json.loads(out)


@pytest.fixture
def sql(db_url):
    """Plain SQL as the superuser, committed at once (the CLI reads on its own connection)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        def execute(query: str, params: tuple | dict = ()) -> list[tuple]:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []
        execute.conn = conn  # for insert_order
        yield execute


def account(sql, subaccount_id: str, label: str) -> uuid.UUID:
    return sql("INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES (%s, %s) "
               "RETURNING exchange_account_id", (subaccount_id, label))[0][0]


def pending(sql, account_id: uuid.UUID, created_ago: timedelta = timedelta(0)) -> uuid.UUID:
    return insert_order(sql.conn, account_id, price="1200000", qty="0.001", created_at=now() - created_ago)


def submitted(sql, account_id: uuid.UUID, submitted_ago: timedelta, *, ws: bool = True,
              confirmed_ago: timedelta | None = None, polls: int = 0) -> uuid.UUID:
    submitted_at = now() - submitted_ago
    return insert_order(sql.conn, account_id, price="1200000", qty="0.001", status="submitted",
                        ext_order_id=str(uuid.uuid4()), created_at=submitted_at, submitted_at=submitted_at,
                        ws_monitored_at=submitted_at if ws else None,
                        exchange_confirmed_at=now() - confirmed_ago if confirmed_ago is not None else None,
                        poll_count=polls, last_polled_at=submitted_at + timedelta(minutes=10) if polls else None)


def fill(sql, account_id: uuid.UUID, order_id: uuid.UUID, trade_id: str, qty: str, price: str,
         fee: str, fee_currency: str) -> None:
    ext = sql("SELECT ext_order_id FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s", (order_id,))[0][0]
    payload = {"id": trade_id, "orderId": ext, "price": price, "quantity": qty, "fee": fee,
               "feeCurrency": fee_currency, "tradedAt": now().isoformat()}
    outcome = sql("SELECT outcome FROM lth_pvr.record_fill(%s, 'ws', %s::jsonb)",
                  (account_id, json.dumps(payload)))[0][0]
    assert outcome == "recorded"


def set_status(sql, order_id: uuid.UUID, status: str, updated_ago: timedelta = timedelta(0)) -> None:
    # A status typed by hand is refused unless the transaction holds the functions' permit: tests only.
    # The permit names the function lth_pvr.transitions allows to make the move.
    via = "claim_pending_orders" if status == "placing" else "finish_order"
    sql("WITH permit AS (SELECT set_config('lth_pvr.status_change', %s, true)) "
        "UPDATE lth_pvr.exchange_orders SET status = %s, updated_at = %s, requires_polling = false, "
        "failed_reason = CASE WHEN %s = 'failed' THEN 'insufficient balance' END "
        "FROM permit WHERE exchange_order_id = %s", (via, status, now() - updated_ago, status, order_id))


def live_worker(sql, worker_id: str = "w1") -> None:
    """A healthy system: a worker's heartbeat, and the safety net's latest tick."""
    sql("INSERT INTO lth_pvr.workers (worker_id, host, pid, last_seen_at) VALUES (%s, 'ops-host', 4242, now())",
        (worker_id,))
    sql("INSERT INTO lth_pvr.safety_net_runs (ran_at, orders_due, notified) "
        "VALUES (now() - interval '5 minutes', 0, false)")


@dataclass
class Busy:
    primary: uuid.UUID
    alice: uuid.UUID
    bob: uuid.UUID
    pending: uuid.UUID
    fresh: uuid.UUID      # submitted 10 min ago, confirmed 5 min ago
    stuck: uuid.UUID      # submitted 3 h ago, never confirmed
    filled: uuid.UUID
    cancelled: uuid.UUID
    failed: uuid.UUID


@pytest.fixture
def busy(sql) -> Busy:
    """Three accounts, orders in every status, fills with fees in two currencies, an open and a
    closed WebSocket session, a live worker and one safety-net run."""
    primary, alice, bob = account(sql, "", "primary"), account(sql, "alice1", "Alice"), account(sql, "bob2", "Bob")
    live_worker(sql)
    order_pending = pending(sql, primary)
    fresh = submitted(sql, alice, timedelta(minutes=10), confirmed_ago=timedelta(minutes=5))
    stuck = submitted(sql, alice, timedelta(hours=3), ws=False, polls=3)
    filled = submitted(sql, bob, timedelta(hours=2), polls=1)
    fill(sql, bob, filled, "t-1", "0.0004", "1199990", "0.0000004", "BTC")
    fill(sql, bob, filled, "t-2", "0.0006", "1200000", "1.5", "ZAR")
    set_status(sql, filled, "filled", timedelta(hours=1))
    cancelled = submitted(sql, bob, timedelta(hours=1), polls=2)
    fill(sql, bob, cancelled, "t-3", "0.0002", "1200000", "0.5", "ZAR")
    set_status(sql, cancelled, "cancelled", timedelta(minutes=30))
    failed = pending(sql, primary, timedelta(minutes=1))
    set_status(sql, failed, "placing")
    set_status(sql, failed, "failed")
    sql("INSERT INTO lth_pvr.ws_sessions (exchange_account_id, worker_id, opened_at, authenticated_at, events) "
        "VALUES (%s, 'w1', now() - interval '20 minutes', now() - interval '20 minutes', 7)", (alice,))
    sql("INSERT INTO lth_pvr.ws_sessions (exchange_account_id, worker_id, opened_at, closed_at, close_reason) "
        "VALUES (%s, 'w1', now() - interval '2 hours', now() - interval '90 minutes', 'idle')", (bob,))
    sql("INSERT INTO lth_pvr.safety_net_runs (ran_at, orders_due, notified) "
        "VALUES (now() - interval '4 minutes', 2, true)")
    return Busy(primary, alice, bob, order_pending, fresh, stuck, filled, cancelled, failed)


# -- status ---------------------------------------------------------------------------------------

def test_status_on_an_empty_database(reader_url):
    code, data = run_json("status", "--database-url", reader_url)
    assert code == 0
    assert data["open_orders"] == [] and data["active_sessions"] == [] and data["stuck_orders"] == []
    assert data["last_safety_net_run"] is None  # never ran
    code, out, _ = run("status", "--database-url", reader_url)
    assert code == 0
    assert out.startswith("0 open order(s), 0 active session(s), 0 stuck order(s)")
    assert "Open orders by subaccount and age\n  (none)" in out
    assert "Last safety-net run\n  (none)" in out


def test_status_on_a_busy_database(reader_url, busy):
    code, data = run_json("status", "--database-url", reader_url)
    assert code == 0
    by_key = {(r["subaccount_id"], r["status"]): r for r in data["open_orders"]}
    assert set(by_key) == {("", "pending"), ("alice1", "submitted")}
    assert {r["exchange"] for r in data["open_orders"]} == {"valr"}  # every row names its exchange
    alice = by_key[("alice1", "submitted")]
    assert (alice["orders"], alice["age_under_10m"], alice["age_10m_to_1h"], alice["age_over_1h"]) == (2, 0, 1, 1)
    assert 3 * 3600 - 60 < alice["oldest"] < 3 * 3600 + 60  # intervals are seconds in JSON
    [session] = data["active_sessions"]
    assert (session["exchange"], session["subaccount_id"], session["worker_id"], session["worker_host"],
            session["events"]) == ("valr", "alice1", "w1", "ops-host", 7)
    assert session["authenticated"] is True
    assert data["last_safety_net_run"]["orders_due"] == 2
    assert [r["exchange_order_id"] for r in data["stuck_orders"]] == [str(busy.stuck)]

    code, out, _ = run("status", "--database-url", reader_url)
    assert code == 0 and out.startswith("3 open order(s), 1 active session(s), 1 stuck order(s)")
    assert str(busy.stuck) in out and "ops-host" in out and "(primary)" in out
    assert "\n  orders_due           2\n" in out  # one-row sections read as name  value
    # Aligned: the header and every row of a table have the same column starts.
    table = out.split("Active WebSocket sessions\n")[1].split("\n\n")[0].splitlines()
    assert table[1].startswith("  ---") and len(table) == 3
    assert table[2].index("alice1") == table[0].index("subaccount_id")


def test_status_counts_an_order_confirmed_recently_as_not_stuck(reader_url, sql, busy):
    sql("UPDATE lth_pvr.exchange_orders SET exchange_confirmed_at = now() WHERE exchange_order_id = %s",
        (busy.stuck,))
    _, data = run_json("status", "--database-url", reader_url)
    assert data["stuck_orders"] == []


# -- metrics --------------------------------------------------------------------------------------

def test_metrics_on_an_empty_database(reader_url):
    code, data = run_json("metrics", "--database-url", reader_url)
    assert code == 0 and data["days"] == 7
    # Errata 3: no division by zero on an empty window, a NULL percentage instead.
    assert data["metric_ws_coverage"] == [{"ws_monitored": 0, "total_orders": 0, "ws_coverage_pct": None}]
    assert data["metric_update_method"] == [] and data["metric_final_status_source"] == []
    code, out, _ = run("metrics", "--database-url", reader_url)
    assert code == 0 and "WebSocket coverage, last 7 day(s)" in out


def test_metrics_on_a_busy_database(reader_url, busy):
    code, data = run_json("metrics", "--database-url", reader_url)
    assert code == 0
    # Submitted in 7 days: fresh, stuck, filled, cancelled; the stuck one was never watched.
    assert data["metric_ws_coverage"] == [{"ws_monitored": 3, "total_orders": 4, "ws_coverage_pct": "75.00"}]
    assert data["metric_polls_per_order"] == [{"avg_polls_per_order": "1.50", "max_polls": 3, "never_polled": 1}]
    [completion] = data["metric_completion_time"]
    assert completion["min_minutes"] == "30.00" and completion["max_minutes"] == "60.00"
    assert data["metric_update_method"] == [{"update_method": "websocket_first", "order_count": 2}]
    # Per exchange, the same three figures side by side (here VALR's alone).
    [valr] = data["metric_exchanges"]
    assert (valr["exchange"], valr["total_orders"], valr["ws_monitored"], valr["never_polled"]) == ("valr", 4, 3, 1)
    code, out, _ = run("metrics", "--database-url", reader_url, "--days", "1")
    assert code == 0 and "Polls per order, last 1 day(s)" in out and "websocket_first" in out


def test_metrics_days_must_be_positive(reader_url):
    code, _, err = run("metrics", "--database-url", reader_url, "--days", "0")
    assert code == 2 and "--days" in err


# -- alerts ---------------------------------------------------------------------------------------

def test_alerts_exit_0_when_nothing_fires(reader_url, sql):
    live_worker(sql)
    code, out, _ = run("alerts", "--database-url", reader_url)
    assert (code, out.splitlines()[0]) == (0, "ALERTS OK: no alert firing")


def test_alerts_exit_1_on_a_warning(reader_url, sql):
    live_worker(sql)
    a = account(sql, "acc1", "A")
    # One session in 24 h, closed with an error: 100 % failures, above the 10 % warning.
    sql("INSERT INTO lth_pvr.ws_sessions (exchange_account_id, worker_id, opened_at, closed_at, closed_with_error) "
        "VALUES (%s, 'w1', now() - interval '1 hour', now() - interval '30 minutes', true)", (a,))
    code, data = run_json("alerts", "--database-url", reader_url)
    assert code == 1 and data["status"] == "warning" and data["warning"] == 1 and data["critical"] == 0
    assert [(r["name"], r["level"]) for r in data["alerts"]] == [("ws_failures", "warning")]
    # Raising the threshold with SQL silences it.
    sql("UPDATE lth_pvr.settings SET value = 100 WHERE name = 'ws_failure_pct_max'")
    assert run("alerts", "--database-url", reader_url)[0] == 0


def test_alerts_exit_2_on_a_critical_and_list_it_first(reader_url, sql, busy):
    code, out, _ = run("alerts", "--database-url", reader_url)
    assert code == 2
    assert out.splitlines()[0].startswith("ALERTS CRITICAL: ")
    assert "stuck_orders (critical)" in out.splitlines()[0]
    # Below 80 % WebSocket coverage (75 %) is critical too; lower the threshold and it is gone.
    assert "ws_coverage (critical)" in out
    sql("UPDATE lth_pvr.settings SET value = 70 WHERE name = 'ws_coverage_min_pct'")
    _, data = run_json("alerts", "--database-url", reader_url)
    assert [r["name"] for r in data["alerts"]] == ["stuck_orders"]
    assert data["alerts"][0]["threshold"] == "60"


def test_alerts_exit_3_when_the_database_is_unreachable():
    url = "postgresql://ops:s3cret-pw@127.0.0.1:1/nowhere"
    code, out, err = run("alerts", "--database-url", url)
    assert code == 3 and out.startswith("ALERTS UNKNOWN: cannot connect to postgresql://ops:***@127.0.0.1:1/nowhere")
    assert "s3cret-pw" not in out + err
    code, data = run_json("alerts", "--database-url", url)
    assert code == 3 and data["status"] == "unknown" and "s3cret-pw" not in json.dumps(data)


def test_alerts_exit_3_when_the_check_itself_fails(reader_url, sql):
    # A deployment that forgot a grant: the check cannot run, which is not "ok" (nor "critical").
    sql("REVOKE EXECUTE ON FUNCTION lth_pvr.alerts(timestamptz) FROM valr_reader")
    code, out, _ = run("alerts", "--database-url", reader_url)
    assert code == 3
    assert out.startswith("ALERTS UNKNOWN: check failed: permission denied for function alerts")


def test_alerts_usage_errors_exit_3_not_2(reader_url):
    code, _, err = run("alerts", "--database-url", reader_url, "--no-such-option")
    assert code == 3 and "No such option" in err
    code, _, err = run("alerts", "surplus-argument", "--database-url", reader_url)
    assert code == 3
    result = CliRunner().invoke(main, ["alerts"], env={"DATABASE_URL": None})
    assert result.exit_code == 3 and "no database" in result.stderr


def test_alerts_exit_code_from_a_real_process(db_url, sql, busy):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATABASE_URL": db_url}
    proc = subprocess.run([sys.executable, "-m", "worker", "alerts"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ALERTS CRITICAL")
    proc = subprocess.run([sys.executable, "-m", "worker", "alerts", "--bogus"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3


# -- poll -----------------------------------------------------------------------------------------

def test_poll_unknown_recent_and_due_ids(db_url, sql, busy):
    unknown = uuid.uuid4()
    sql("UPDATE lth_pvr.exchange_orders SET last_polled_at = now() WHERE exchange_order_id = %s", (busy.fresh,))
    code, data = run_json("poll", str(unknown), str(busy.fresh), str(busy.stuck), str(busy.filled),
                          str(busy.pending), "--database-url", db_url)
    assert code == 1  # an id matched no order
    assert [(r["exchange_order_id"], r["outcome"]) for r in data["results"]] == [
        (str(unknown), "unknown_id"), (str(busy.fresh), "skipped_recent"), (str(busy.stuck), "queued"),
        (str(busy.filled), "terminal"), (str(busy.pending), "not_placed")]
    assert sql("SELECT poll_due_at IS NOT NULL FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s",
               (busy.stuck,)) == [(True,)]


def test_poll_of_known_ids_exits_0_and_prints_a_table(db_url, busy):
    code, out, _ = run("poll", str(busy.stuck), "--database-url", db_url)
    assert code == 0 and f"{busy.stuck}  queued" in out


def test_poll_refuses_a_malformed_id_before_requesting_anything(db_url, sql, busy):
    code, _, err = run("poll", str(busy.stuck), "not-a-uuid", "--database-url", db_url)
    assert code == 2 and "'not-a-uuid'" in err
    assert sql("SELECT poll_due_at FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s",
               (busy.stuck,)) == [(None,)]


def test_poll_as_a_reader_is_refused_with_its_own_exit_code(reader_url, busy):
    code, out, err = run("poll", str(busy.stuck), "--database-url", reader_url)
    assert code == 4 and out == "" and "permission denied" in err and "valr_operator" in err
    code, _, err = run("cancel", str(busy.stuck), "--database-url", reader_url)
    assert code == 4 and "permission denied" in err


def test_poll_and_cancel_as_an_operator(operator_url, sql, busy):
    """valr_operator may request polls and cancels: no superuser needed; unknown ids still exit 1."""
    code, data = run_json("poll", str(busy.stuck), "--database-url", operator_url)
    assert code == 0 and [r["outcome"] for r in data["results"]] == ["queued"]
    code, data = run_json("cancel", str(busy.fresh), str(uuid.uuid4()), "--database-url", operator_url)
    assert code == 1 and [r["outcome"] for r in data["results"]] == ["requested", "unknown_id"]


# -- cancel ---------------------------------------------------------------------------------------

def test_cancel_each_kind_of_order(db_url, sql, busy):
    unknown = uuid.uuid4()
    code, data = run_json("cancel", str(busy.fresh), str(busy.pending), str(busy.filled), str(unknown),
                          "--database-url", db_url)
    assert code == 1
    assert [r["outcome"] for r in data["results"]] == [
        "requested", "cancelled_before_placement", "terminal", "unknown_id"]
    statuses = dict(sql("SELECT exchange_order_id, status FROM lth_pvr.exchange_orders "
                        "WHERE exchange_order_id = ANY(%s)", ([busy.fresh, busy.pending],)))
    assert statuses == {busy.fresh: "submitted", busy.pending: "cancelled"}  # VALR decides the first
    code, out, _ = run("cancel", str(busy.fresh), "--database-url", db_url)
    assert code == 0 and "already_requested" in out


def test_cancel_refuses_a_malformed_id_before_requesting_anything(db_url, sql, busy):
    code, _, err = run("cancel", str(busy.fresh), "12345", "--database-url", db_url)
    assert code == 2 and "'12345'" in err
    assert sql("SELECT cancel_requested_at FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s",
               (busy.fresh,)) == [(None,)]


# -- orders ---------------------------------------------------------------------------------------

def test_orders_with_fills_fees_and_filters(reader_url, busy):
    code, data = run_json("orders", "--database-url", reader_url)
    assert code == 0 and len(data["orders"]) == 6
    by_id = {r["exchange_order_id"]: r for r in data["orders"]}
    filled = by_id[str(busy.filled)]
    assert (filled["status"], filled["filled_qty"]) == ("filled", "0.0010")
    assert filled["fees"] == {"BTC": "0.0000004", "ZAR": "1.5"}
    assert filled["avg_price"].startswith("1199996")
    assert by_id[str(busy.pending)]["fees"] == {} and by_id[str(busy.pending)]["avg_price"] is None

    _, data = run_json("orders", "--open", "--database-url", reader_url)
    assert {r["exchange_order_id"] for r in data["orders"]} == {str(busy.pending), str(busy.fresh), str(busy.stuck)}
    _, data = run_json("orders", "--subaccount", "bob2", "--database-url", reader_url)
    assert {r["exchange_order_id"] for r in data["orders"]} == {str(busy.filled), str(busy.cancelled)}
    _, data = run_json("orders", "--open", "--subaccount", "", "--database-url", reader_url)
    assert [r["exchange_order_id"] for r in data["orders"]] == [str(busy.pending)]
    _, data = run_json("orders", "--limit", "2", "--database-url", reader_url)
    assert len(data["orders"]) == 2

    code, out, _ = run("orders", "--subaccount", "bob2", "--database-url", reader_url)
    assert code == 0 and "BTC 0.0000004, ZAR 1.5" in out and "cancelled" in out


def test_orders_on_an_empty_database(reader_url):
    code, out, _ = run("orders", "--database-url", reader_url)
    assert code == 0 and "0 order(s)" in out and "(none)" in out


# -- what every command shares --------------------------------------------------------------------

@pytest.mark.parametrize("verb", ["status", "metrics", "orders"])
def test_read_commands_report_an_unreachable_database_without_the_password(verb):
    code, out, err = run(verb, "--database-url", "postgresql://ops:s3cret-pw@127.0.0.1:1/nowhere")
    assert code == 1 and out == ""
    assert err.startswith("error: cannot connect to postgresql://ops:***@127.0.0.1:1/nowhere")
    assert "s3cret-pw" not in err


def test_json_output_is_one_object_with_the_redacted_database(reader_url, busy):
    for verb in ("status", "metrics", "alerts", "orders"):
        _, out, _ = run(verb, "--json", "--database-url", reader_url)
        data = json.loads(out)
        assert isinstance(data, dict) and data["database"].startswith("postgresql://reader_")
