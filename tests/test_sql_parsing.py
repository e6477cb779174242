"""The small parsing helpers (valr_status, json_numeric, json_time): every input, one database per test
(loop inside, keep the suite fast)."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.support.sql import scalar

STATUS_MAPPING = [
    ("Placed", "submitted"), ("Partially Filled", "submitted"), ("Order Modified", "submitted"),
    ("Active", "submitted"), ("Filled", "filled"), ("Cancelled", "cancelled"), ("Expired", "cancelled"),
    ("Partially Filled and Cancelled Due To Slippage", "cancelled"), ("Failed", "failed"),
    ("Instant Order Completed", None), ("placed", None), ("", None),
]

NUMBERS = [
    ('"0.0001"', "0.0001"), ("0.5", "0.5"), ('" 12 "', "12"), ('"1e-3"', "0.001"), ('"-2"', "-2"),
    ('"NaN"', None), ('"Infinity"', None), ('"abc"', None), ('"1e999999"', None), ("null", None),
    ("[1]", None), ('{"a": 1}', None), ("true", None), ('""', None),
]

TIMES = [
    ('"2025-10-28T10:04:40.566Z"', True), ('"2025-10-28T10:04:40Z"', True), ("1761645880566", True),
    ('"2025-02-30T10:00:00Z"', False), ('"2025-13-01T10:00:00Z"', False), ('"yesterday"', False),
    ('"now"', False), ("null", False), ("42", False),
    # Around json_time's fast path (VALR's shape, day <= 28) and past it (the general path).
    ('"0001-01-01T00:00:00Z"', True), ('"0000-01-01T00:00:00Z"', False), ('"2024-02-29T23:59:59.999999999Z"', True),
    ('"2025-02-29T00:00:00Z"', False), ('"2025-01-31T24:00:00Z"', True), ('"2025-01-01T23:60:00Z"', False),
    ('"2025-12-31T23:59:59.9999999Z"', True),
]


def test_status_mapping_lives_in_one_function(postgresql):
    for valr, ours in STATUS_MAPPING:
        assert scalar(postgresql, "SELECT lth_pvr.valr_status(%s)", (valr,)) == ours, valr


def test_json_numeric_never_raises(postgresql):
    for value, expected in NUMBERS:
        got = scalar(postgresql, "SELECT lth_pvr.json_numeric(%s::jsonb)::text", (value,))
        assert (got is None and expected is None) or float(got) == float(expected), value


def test_json_time_never_raises_and_reads_utc(postgresql):
    for value, valid in TIMES:
        got = scalar(postgresql, "SELECT lth_pvr.json_time(%s::jsonb)", (value,))
        assert (got is not None) == valid, value
    got = scalar(postgresql, "SELECT lth_pvr.json_time('\"2025-10-28T10:04:40.566Z\"')")
    assert got == datetime(2025, 10, 28, 10, 4, 40, 566000, tzinfo=timezone.utc)
