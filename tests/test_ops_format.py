"""How the operator's commands show results and read their arguments (no database needed)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from worker.ops import queries as ops


def test_alert_exit_code_is_the_worst_level():
    assert ops.alert_exit_code([]) == 0
    assert ops.alert_exit_code(["warning", "warning"]) == 1
    assert ops.alert_exit_code(["warning", "critical"]) == 2
    assert ops.alert_exit_code(["critical", "unknown"]) == 3


def test_a_level_nobody_told_us_about_is_unknown_not_ignored():
    assert ops.alert_exit_code(["warning", "catastrophic"]) == 3


def test_json_serialises_money_times_ids_and_intervals_without_floats_for_money():
    order_id = uuid.UUID("8c3f8a52-4c61-4c2a-9a55-0c8e5d1b2f10")
    data = {"price": Decimal("1200000.00000001"), "at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
            "id": order_id, "age": timedelta(minutes=90)}
    assert json.loads(ops.to_json(data)) == {
        "price": "1200000.00000001", "at": "2025-01-02T03:04:05+00:00", "id": str(order_id), "age": 5400.0}


@pytest.mark.parametrize("value, shown", [
    (None, "-"),
    (True, "yes"),
    (Decimal("0.00100000"), "0.001"),
    (Decimal("1.2E+6"), "1200000"),
    (Decimal("0.0000004"), "0.0000004"),
    (datetime(2025, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2025-01-02 03:04:05Z"),
    (timedelta(seconds=42), "42s"),
    (timedelta(minutes=5, seconds=3), "5m 03s"),
    (timedelta(hours=3, minutes=7), "3h 07m"),
    (timedelta(days=2, hours=5), "2d 5h"),
    (timedelta(seconds=-30), "-30s"),
    ({"BTC": "0.0001", "ZAR": "1.5"}, "BTC 0.0001, ZAR 1.5"),
    ({}, "-"),
])
def test_cells_read_well_in_a_terminal(value, shown):
    assert ops.format_cell(value) == shown


def test_the_primary_account_is_named_not_blank():
    assert ops.format_cell("", "subaccount_id") == "(primary)"
    assert ops.format_cell("", "label") == ""


def test_table_aligns_columns_and_right_aligns_numbers():
    section = ops.Section("Orders", ["status", "qty"], [
        {"status": "submitted", "qty": Decimal("0.5")}, {"status": "filled", "qty": Decimal("12")}])
    assert ops.render_table(section).splitlines() == [
        "Orders",
        "  status     qty",
        "  ---------  ---",
        "  submitted  0.5",
        "  filled      12",
    ]


def test_empty_table_and_vertical_section():
    assert ops.render_table(ops.Section("Stuck", ["id"], [])) == "Stuck\n  (none)"
    one = ops.Section("Coverage", ["ws_monitored", "pct"], [{"ws_monitored": 3, "pct": None}], vertical=True)
    assert ops.render_table(one).splitlines() == ["Coverage", "  ws_monitored  3", "  pct           -"]


def test_order_ids_are_parsed_deduplicated_and_kept_in_order():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert ops.parse_order_ids([str(b), str(a).upper(), str(b)]) == [b, a]


def test_every_malformed_order_id_is_named():
    with pytest.raises(ValueError) as info:
        ops.parse_order_ids([str(uuid.uuid4()), "abc", "'; DROP TABLE x; --"])
    assert "'abc'" in str(info.value) and "DROP TABLE" in str(info.value)


def test_scrub_removes_the_password_from_a_message():
    url = "postgresql://ops:hunter2@db.example/prod"
    assert ops.scrub("FATAL: bad hunter2 here", url) == "FATAL: bad *** here"
    assert ops.scrub("nothing secret", "postgresql://ops@db/prod") == "nothing secret"
