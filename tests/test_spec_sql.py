"""The spec's own SQL runs unchanged against a migrated database holding one submitted order."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from tests import spec_queries as spec
from worker.db.migrate import cron_job_name, migrate, unschedule_jobs


@pytest.fixture
def one_submitted_order(postgresql):
    account = postgresql.execute(
        "INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES ('1234', 'customer') "
        "RETURNING exchange_account_id"
    ).fetchone()[0]
    intent = uuid.uuid4()
    valr = {"orderId": "019a2a46-0001", "customerOrderId": str(intent), "orderStatusType": "Placed"}
    # Placed by another system: inserted directly as submitted, with VALR's order id.
    postgresql.execute(
        """INSERT INTO lth_pvr.exchange_orders
               (exchange_account_id, intent_id, pair, side, price, qty, status, ext_order_id,
                submitted_at, ws_monitored_at, raw)
           VALUES (%s, %s, 'BTCZAR', 'BUY', 1200000, 0.0001, 'submitted', '019a2a46-0001',
                   now(), now(), %s)""",
        (account, intent, json.dumps({"valr": valr})),
    )
    postgresql.commit()
    return intent


def test_schema_check_returns_four_rows(postgresql, one_submitted_order):
    rows = postgresql.execute(spec.SCHEMA_CHECK).fetchall()
    assert sorted(r[0] for r in rows) == ["last_polled_at", "poll_count", "requires_polling", "ws_monitored_at"]


def test_cron_checks_show_the_ten_minute_schedule(postgresql, db_url, embedded_pg, one_submitted_order):
    migrate(db_url)
    try:
        # The spec's check runs where pg_cron lives (cron.database_name).
        with embedded_pg.connect(autocommit=True) as cron_conn:
            rows = cron_conn.execute(spec.CRON_CHECK).fetchall()
            ours = [r for r in rows if r[1] == cron_job_name("poll_orders", postgresql.info.dbname)]
            assert len(ours) == 1 and ours[0][2] == "*/10 * * * *" and ours[0][3] is True
            assert "*/10 * * * *" in {r[0] for r in cron_conn.execute(spec.CRON_SCHEDULE_CHECK).fetchall()}
    finally:
        unschedule_jobs(db_url)


def test_safety_net_query_runs_with_lth_pvr_on_the_search_path(postgresql, one_submitted_order):
    postgresql.execute("SET search_path = lth_pvr, public")
    rows = postgresql.execute(spec.SAFETY_NET).fetchall()
    assert len(rows) == 1


def test_manual_placement_check_with_a_real_uuid(postgresql, one_submitted_order):
    query = spec.MANUAL_PLACEMENT_CHECK.replace("'test-uuid'", f"'{one_submitted_order}'")
    rows = postgresql.execute(query).fetchall()
    assert len(rows) == 1 and rows[0][1] == "submitted"


def test_test_uuid_placeholder_is_rejected_by_the_uuid_column(postgresql):
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        postgresql.execute(spec.MANUAL_PLACEMENT_CHECK)


def test_polling_fallback_check_runs(postgresql, one_submitted_order):
    assert postgresql.execute(spec.POLLING_FALLBACK_CHECK).fetchall() == []


def test_four_monitoring_queries_run(postgresql, one_submitted_order):
    ws_monitored, total, pct = postgresql.execute(spec.WS_SUCCESS_RATE).fetchone()
    assert (ws_monitored, total, float(pct)) == (1, 1, 100.0)
    avg_polls, max_polls, never = postgresql.execute(spec.POLLING_FREQUENCY).fetchone()
    assert (float(avg_polls), max_polls, never) == (0.0, 0, 1)
    assert postgresql.execute(spec.COMPLETION_TIME).fetchone() == (None, None, None)
    assert postgresql.execute(spec.UPDATE_METHOD).fetchall() == []


def test_spec_success_rate_divides_by_zero_on_an_empty_window(postgresql):
    # Errata 3: the spec's query fails on an empty window; ours (lth_pvr.v_ws_coverage) does not.
    with pytest.raises(psycopg.errors.DivisionByZero):
        postgresql.execute(spec.WS_SUCCESS_RATE)


def test_customer_order_id_troubleshooting_query(postgresql, one_submitted_order):
    intent, ext, valr_customer_id = postgresql.execute(spec.CUSTOMER_ORDER_ID_CHECK).fetchone()
    assert ext == "019a2a46-0001"
    assert valr_customer_id == str(intent) == str(one_submitted_order)
