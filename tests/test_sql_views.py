"""Metric views (the spec's four, without its division by zero, plus the final-status source),
v_last_safety_net_run in both of its shapes, reader access, and the append-only event log."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.sql import (
    T0, at, make_account, one, order, rows, scalar, status_payload, submitted_order, update, valr_pairs,
)
from worker.db.migrate import db_dir

VIEWS = ["v_ws_coverage", "v_polls_per_order", "v_completion_time", "v_update_method", "v_exchange_metrics",
         "v_final_status_source", "v_alerts", "v_last_safety_net_run"]


def test_ws_coverage_is_null_not_an_error_without_orders(postgresql):
    assert one(postgresql, "SELECT * FROM lth_pvr.v_ws_coverage") == {
        "ws_monitored": 0, "total_orders": 0, "ws_coverage_pct": None}


def test_metrics_over_a_simulated_week(postgresql):
    account = make_account(postgresql)
    session = one(postgresql, "SELECT lth_pvr.session_open('w1', %s, %s) AS id", (account, T0))["id"]
    watched = submitted_order(postgresql, account, ext="valr-1", now=T0)           # no socket yet
    rows(postgresql, "SELECT * FROM lth_pvr.session_authenticated(%s, %s)", (session, at(seconds=1)))
    polled = submitted_order(postgresql, account, ext="valr-2", now=at(seconds=2))  # watched at placement
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET ws_monitored_at = NULL WHERE exchange_order_id = %s",
                       (polled,))
    update(postgresql, account, status_payload("valr-1", "Filled", remaining="0"), now=at(minutes=3))
    one(postgresql, "SELECT * FROM lth_pvr.record_poll(%s, 'ok', %s, NULL, %s)",
        (polled, Jsonb(status_payload("valr-2", "Cancelled")), at(minutes=12, seconds=2)))
    now = at(hours=1)

    assert one(postgresql, "SELECT * FROM lth_pvr.metric_ws_coverage(7, %s)", (now,)) == {
        "ws_monitored": 1, "total_orders": 2, "ws_coverage_pct": Decimal("50.00")}
    assert one(postgresql, "SELECT * FROM lth_pvr.metric_polls_per_order(7, %s)", (now,)) == {
        "avg_polls_per_order": Decimal("0.50"), "max_polls": 1, "never_polled": 1}
    assert one(postgresql, "SELECT * FROM lth_pvr.metric_completion_time(7, %s)", (now,)) == {
        "avg_minutes": Decimal("7.50"), "min_minutes": Decimal("3.00"), "max_minutes": Decimal("12.00")}
    assert {r["update_method"]: r["order_count"] for r in rows(
        postgresql, "SELECT * FROM lth_pvr.metric_update_method(7, %s)", (now,))} == {
        "websocket_only": 1, "polling_only": 1}
    assert {r["source"]: r["order_count"] for r in rows(
        postgresql, "SELECT * FROM lth_pvr.metric_final_status_source(7, %s)", (now,))} == {"ws": 1, "poll": 1}
    # A week later both orders are out of the window.
    assert one(postgresql, "SELECT * FROM lth_pvr.metric_ws_coverage(7, %s)", (at(days=8),))["total_orders"] == 0
    assert one(postgresql, "SELECT * FROM lth_pvr.metric_ws_coverage(30, %s)", (at(days=8),))["total_orders"] == 2
    assert order(postgresql, watched)["ws_monitored_at"] == at(seconds=1)


def test_reader_reads_every_view_without_table_or_cron_grants(postgresql):
    postgresql.execute("SET ROLE valr_reader")
    for view in VIEWS:
        postgresql.execute(f"SELECT * FROM lth_pvr.{view}").fetchall()
    assert scalar(postgresql, "SELECT total_orders FROM lth_pvr.metric_ws_coverage(30)") == 0
    postgresql.execute("RESET ROLE")


def test_last_safety_net_run_without_cron(postgresql):
    assert one(postgresql, "SELECT run_id, cron_status FROM lth_pvr.v_last_safety_net_run") == {
        "run_id": None, "cron_status": None}
    postgresql.execute("SELECT lth_pvr.safety_net_tick(%s)", (T0,))
    postgresql.execute("SELECT lth_pvr.safety_net_tick(%s)", (at(minutes=10),))
    last = one(postgresql, "SELECT * FROM lth_pvr.v_last_safety_net_run")
    assert (last["ran_at"], last["orders_due"], last["notified"]) == (at(minutes=10), 0, False)


def test_last_safety_net_run_reads_cron_where_pg_cron_lives(postgresql):
    # pg_cron lives in the cluster's cron database; here a stand-in `cron` schema with its columns
    # makes migrate's DO block choose the cron definition, as it would in that database.
    postgresql.execute("""
        CREATE SCHEMA cron;
        CREATE TABLE cron.job (jobid bigint PRIMARY KEY, jobname text, database text);
        CREATE TABLE cron.job_run_details (jobid bigint, runid bigint, status text, start_time timestamptz,
                                           end_time timestamptz, return_message text);
    """)
    postgresql.execute("INSERT INTO cron.job VALUES (1, 'lth_pvr_poll_orders@' || current_database(), "
                       "current_database()), (2, 'lth_pvr_prune_event_log@x', current_database())")
    postgresql.execute("""INSERT INTO cron.job_run_details VALUES
        (1, 1, 'succeeded', %s, %s, '1 row'), (1, 2, 'failed', %s, %s, 'boom'), (2, 3, 'succeeded', %s, %s, 'x')""",
                       (T0, T0, at(minutes=10), at(minutes=10), at(minutes=20), at(minutes=20)))
    postgresql.execute((db_dir() / "functions/views/v_last_safety_net_run.sql").read_text())
    last = one(postgresql, "SELECT * FROM lth_pvr.v_last_safety_net_run")
    assert (last["cron_jobid"], last["cron_status"], last["cron_return_message"]) == (1, "failed", "boom")
    postgresql.execute("SET ROLE valr_reader")
    assert one(postgresql, "SELECT cron_status FROM lth_pvr.v_last_safety_net_run")["cron_status"] == "failed"


def test_event_log_is_append_only_except_for_pruning(postgresql):
    account = make_account(postgresql)
    valr_pairs(postgresql, "BTCZAR")  # no `pair_unchecked` row stamped now(): every row is the test's
    submitted_order(postgresql, account, ext="valr-1", now=at(days=-100))
    update(postgresql, account, status_payload("valr-1", "Cancelled"), now=at(days=-95))
    update(postgresql, account, status_payload("valr-x", "Placed"), now=T0)  # not ours, recent
    total = scalar(postgresql, "SELECT count(*) FROM lth_pvr.order_events")
    postgresql.commit()
    for statement in ("UPDATE lth_pvr.order_events SET outcome = 'edited'", "DELETE FROM lth_pvr.order_events",
                      "TRUNCATE lth_pvr.order_events"):
        with pytest.raises(psycopg.errors.CheckViolation):
            postgresql.execute(statement)
        postgresql.rollback()
    deleted = scalar(postgresql, "SELECT lth_pvr.prune_event_log(%s)", (T0,))
    assert deleted == total - 1
    # The flag was transaction-local and is off again.
    with pytest.raises(psycopg.errors.CheckViolation):
        postgresql.execute("DELETE FROM lth_pvr.order_events")


def test_view_files_are_granted_to_readers(postgresql):
    for view in VIEWS:
        assert scalar(postgresql, "SELECT has_table_privilege('valr_reader', %s, 'SELECT')", (f"lth_pvr.{view}",))
