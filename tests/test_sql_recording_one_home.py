"""One home per recording rule: the general path (record_fill, apply_order_payload) and the fast path
(record_frames) are built from the same pieces, so each rule of recording a trade or an order object
exists once. A rule copied into another function (as trade_is_common once copied record_fill's
checks) makes the first test fail; the second says both paths are made of the pieces.
tests/test_sql_batch_fast.py checks that the two paths leave the same rows."""

from __future__ import annotations

import re

import pytest

from tests.support.sql import rows

# (rule, what a copy of it would contain, its one home)
RULES = [
    ("a trade's price, quantity and sequence are read from the payload",
     r"json_numeric\(\s*[\w.]+\s*->\s*'(quantity|price|sequenceId)'\s*\)", {"order_fill_row"}),
    # (`updatedAt` alone is also a balance's, the ledger's own word.)
    # (Read: ccxt's translations write these words, they do not read them.)
    ("the exchange's time of a payload (a trade's, an order object's)", r"->>?\s*'(tradedAt|orderUpdatedAt)'",
     {"payload_exchange_time"}),
    ("ccxt's unified order is read into VALR's words", r"->\s*'lastUpdateTimestamp'", {"ccxt_order_payload"}),
    ("our client order id in ccxt's words", r"->\s*'(clientOrderId|cl_ord_id|client_order_id)'",
     {"ccxt_client_order_id"}),
    ("a trade's fee is read (a maker rebate is negative; unreadable is said)",
     r"\btrade_fee\(", {"order_fill_row", "fill_outcome"}),
    ("a fill is readable: a trade id, a positive price and quantity",
     r"'(trade id missing|price is not a positive number|quantity is not a positive number)'", {"fill_problem"}),
    ("a fill grows the order's totals", r"filled_value\s*\+", {"order_after_fill"}),
    ("the average price is the filled value over the filled quantity", r"/\s*[\w.]*filled_qty\b",
     {"order_fill_totals"}),
    ("an order filled beyond its quantity is an overfill", r"\bfilled_qty\s*>\s*coalesce\(", {"order_is_overfilled"}),
    ("a new fill's outcome: recorded, or an overfill", r"'overfill'", {"fill_outcome"}),
    ("an order object's status text is read", r"->\s*'orderStatusType'", {"payload_status_text"}),
    ("VALR's status text maps to ours", r"\bvalr_status\(", {"payload_status"}),
    ("an order object's originalQuantity must be a positive number",
     r"jsonb_typeof\(\s*[\w.]+\s*->\s*'originalQuantity'\s*\)", {"payload_original_qty_is_malformed"}),
    ("an order object's refusals and their details", r"'originalQuantity is not a positive number'|'unknown_status'",
     {"read_order_payload"}),
    ("the order row VALR's word leaves, built in memory", r"exchange_confirmed_at\s*:=",
     {"order_after_unchanged", "order_after_fill"}),
]

# Each path, and the pieces it must be made of.
PATHS = {
    "record_fill": {"order_fill_row", "fill_problem", "order_after_fill", "fill_outcome"},
    "fill_outcome": {"order_is_overfilled"},
    "record_frames": {"order_fill_row", "fill_problem", "order_after_fill", "fill_outcome",
                      "payload_is_unchanged", "order_after_unchanged", "open_item_already_confirmed"},
    "payload_is_unchanged": {"payload_status", "payload_original_qty_is_malformed"},
    "read_order_payload": {"payload_status_text", "payload_status", "payload_original_qty_is_malformed"},
    "apply_order_payload": {"read_order_payload", "payload_is_unchanged", "order_after_unchanged",
                            "open_item_already_confirmed"},
    "correct_fill": {"order_fill_totals"},
    # ccxt's words are translated once, at each entry of the recording path.
    "exchange_payload": {"ccxt_order_payload", "ccxt_trade_payload"},
    "ccxt_order_payload": {"ccxt_client_order_id"},
    "ccxt_trade_payload": {"ccxt_client_order_id"},
    "record_exchange_events": {"record_fill", "apply_order_payload", "ccxt_order_completed"},
}
ENTRIES = ["apply_order_payload", "record_fill", "reconcile_open_orders", "record_order_update", "record_placement"]


def sources(conn) -> dict[str, str]:
    found = rows(conn, "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'lth_pvr'::regnamespace")
    return {f["proname"]: f["prosrc"] for f in found}


def code(src: str) -> str:
    """A function's body without its comments (a comment may name a rule without copying it)."""
    return re.sub(r"--[^\n]*", "", src)


@pytest.mark.parametrize("rule, copy, home", RULES, ids=[r[0] for r in RULES])
def test_each_recording_rule_has_one_home(postgresql, rule, copy, home):
    holders = {name for name, src in sources(postgresql).items() if re.search(copy, code(src))}
    assert holders == home, f"{rule}: found in {sorted(holders)}, its home is {sorted(home)}"


@pytest.mark.parametrize("path", PATHS)
def test_the_general_and_the_fast_path_are_built_from_the_pieces(postgresql, path):
    body = code(sources(postgresql)[path])
    missing = {piece for piece in PATHS[path] if not re.search(rf"lth_pvr\.{piece}\(|\b{piece}\(", body)}
    assert not missing, f"{path} does not use {sorted(missing)}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_entry_of_the_recording_path_reads_ccxts_words(postgresql, entry):
    assert re.search(r"\bexchange_payload\(", code(sources(postgresql)[entry])), entry
