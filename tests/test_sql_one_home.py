"""One home per rule: every path to a final status goes through finish_order (with its clean-up),
placing -> submitted through submit_order; one lost-placement rule, every timing read from
lth_pvr.settings, one ws_monitored_at rule."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.sql import (
    T0, at, claim, fill, lease, make_account, make_order, one, order, rows, scalar, settle, status_payload,
    submitted_order, trade_payload, update, valr_pairs,
)

MARKS = """UPDATE lth_pvr.exchange_orders
              SET poll_due_at = %(t)s, poll_claimed_at = %(t)s, poll_claimed_by = 'w1', reconcile_due_at = %(t)s
            WHERE exchange_order_id = %(id)s"""


def placing_order(conn, sent: bool = False):
    account = make_account(conn)
    order_id = make_order(conn, account)
    lease(conn, "w1")
    claim(conn, "w1", T0, accounts=[account])
    if sent:  # the request left at T0 (its answer lost)
        assert scalar(conn, "SELECT lth_pvr.begin_placement(%s, %s)", (order_id, T0))
    return account, order_id


def lost_for_good(conn, order_id):
    """The request left and VALR does not know it after the grace, with no placing again left."""
    settle(conn, placement_requeues_max=0)
    assert scalar(conn, "SELECT lth_pvr.begin_placement(%s, %s)", (order_id, T0))


def ws_filled(conn, account, order_id):
    update(conn, account, status_payload(order(conn, order_id)["ext_order_id"], "Filled", remaining="0"),
           now=at(seconds=5))


def order_processed_failed(conn, account, order_id):
    frame = {"type": "ORDER_PROCESSED",
             "data": {"orderId": order(conn, order_id)["ext_order_id"], "success": False, "message": "no funds"}}
    rows(conn, "SELECT * FROM lth_pvr.record_frame(%s, 0, %s, %s)", (account, Jsonb(frame), at(seconds=5)))


def poll_cancelled(conn, account, order_id):
    payload = status_payload(order(conn, order_id)["ext_order_id"], "Cancelled")
    one(conn, "SELECT * FROM lth_pvr.record_poll(%s, 'ok', %s, NULL, %s)", (order_id, Jsonb(payload), at(seconds=5)))


def placement_refused(conn, account, order_id):
    one(conn, "SELECT * FROM lth_pvr.record_placement(%s, NULL, 'Insufficient Balance', NULL, %s)",
        (order_id, at(seconds=5)))


def placement_not_found(conn, account, order_id):
    lost_for_good(conn, order_id)
    one(conn, "SELECT * FROM lth_pvr.record_placement_not_found(%s, %s)", (order_id, at(seconds=300)))


def poll_not_found(conn, account, order_id):
    lost_for_good(conn, order_id)
    one(conn, "SELECT * FROM lth_pvr.record_poll(%s, 'not_found', NULL, 'Order not found', %s)",
        (order_id, at(seconds=300)))


def cancelled_before_placement(conn, account, order_id):
    assert scalar(conn, "SELECT lth_pvr.request_cancel(%s, %s)", (order_id, at(seconds=5))) == \
        "cancelled_before_placement"


# (path, the order's status before, the final status it reaches)
PATHS = [
    (ws_filled, "submitted", "filled"),
    (order_processed_failed, "submitted", "failed"),
    (poll_cancelled, "submitted", "cancelled"),
    (placement_refused, "placing", "failed"),
    (placement_not_found, "placing", "failed"),
    (poll_not_found, "placing", "failed"),
    (cancelled_before_placement, "pending", "cancelled"),
]


@pytest.mark.parametrize("path, before, final", PATHS, ids=[p[0].__name__ for p in PATHS])
def test_every_path_to_a_final_status_does_the_terminal_clean_up(postgresql, path, before, final):
    if before == "submitted":
        account = make_account(postgresql)
        order_id = submitted_order(postgresql, account)
    elif before == "placing":
        account, order_id = placing_order(postgresql)
    else:
        account = make_account(postgresql)
        order_id = make_order(postgresql, account)
    postgresql.execute(MARKS, {"t": at(seconds=1), "id": order_id})
    path(postgresql, account, order_id)
    o = order(postgresql, order_id)
    assert o["status"] == final
    assert (o["requires_polling"], o["poll_due_at"], o["poll_claimed_at"], o["poll_claimed_by"],
            o["reconcile_due_at"]) == (False, None, None, None, None)
    assert o["finished_at"] == o["updated_at"]


def test_finish_order_is_the_only_writer_of_a_final_status(postgresql):
    # Every function that writes a status literal: claim_pending_orders (pending -> placing) and the
    # non-final moves; a final status is written by finish_order alone.
    writers = rows(postgresql, r"""
        SELECT p.proname FROM pg_proc p
         WHERE p.pronamespace = 'lth_pvr'::regnamespace
           AND p.prosrc ~* 'status\s*=\s*''(filled|cancelled|failed)''\s*,'
         ORDER BY 1""")
    assert [w["proname"] for w in writers] == []
    callers = rows(postgresql, r"""
        SELECT p.proname FROM pg_proc p
         WHERE p.pronamespace = 'lth_pvr'::regnamespace AND p.prosrc ~ 'lth_pvr\.finish_order\('
         ORDER BY 1""")
    assert [c["proname"] for c in callers] == [
        "apply_order_payload", "record_placement", "request_cancel", "settle_lost_placement"]
    submitters = rows(postgresql, r"""
        SELECT p.proname FROM pg_proc p
         WHERE p.pronamespace = 'lth_pvr'::regnamespace AND p.prosrc ~* 'status\s*=\s*''submitted''\s*,'
         ORDER BY 1""")
    # placing -> submitted is submit_order's; failed -> submitted (an inferred failure VALR's word
    # contradicts) is revive_order's: each transition has one home.
    assert [s["proname"] for s in submitters] == ["revive_order", "submit_order"]


def test_one_lost_placement_rule_reads_its_setting_in_both_paths(postgresql):
    valr_pairs(postgresql, "BTCZAR")  # no `pair_unchecked` insert row among the rows read below
    settle(postgresql, placement_grace_seconds=30)
    _, by_lookup = placing_order(postgresql, sent=True)
    _, by_poll = placing_order(postgresql, sent=True)
    lookup = "SELECT * FROM lth_pvr.record_placement_not_found(%s, %s)"
    poll = "SELECT * FROM lth_pvr.record_poll(%s, 'not_found', NULL, 'Order not found', %s)"
    assert one(postgresql, lookup, (by_lookup, at(seconds=29)))["status"] == "placing"
    assert one(postgresql, poll, (by_poll, at(seconds=29)))["outcome"] == "not_found"
    assert one(postgresql, lookup, (by_lookup, at(seconds=30)))["status"] == "pending"
    assert one(postgresql, poll, (by_poll, at(seconds=30)))["outcome"] == "placed_again"
    outcomes = rows(postgresql, """SELECT source, outcome, detail FROM lth_pvr.order_events
                                    WHERE new_status = 'pending' ORDER BY event_id""")
    assert [(o["source"], o["outcome"]) for o in outcomes] == [("placement", "placed_again"), ("poll", "placed_again")]
    assert all("after the request left" in o["detail"] and "30 s" in o["detail"] for o in outcomes), outcomes


def test_the_lost_placement_grace_never_defaults_silently(postgresql):
    _, order_id = placing_order(postgresql, sent=True)
    postgresql.execute("DELETE FROM lth_pvr.settings WHERE name = 'placement_grace_seconds'")
    with pytest.raises(psycopg.errors.UndefinedObject):
        one(postgresql, "SELECT * FROM lth_pvr.record_placement_not_found(%s, %s)", (order_id, at(seconds=300)))


def test_claim_timings_come_from_settings(postgresql):
    settle(postgresql, reconcile_fallback_seconds=5)
    settle(postgresql, poll_claim_seconds=10)
    account = make_account(postgresql)
    # No socket: the placement leaves a reconciliation owed at T0.
    order_id = submitted_order(postgresql, account)
    assert order(postgresql, order_id)["reconcile_due_at"] == T0
    claim_polls = "SELECT * FROM lth_pvr.claim_due_polls('w1', 500, %s)"
    assert rows(postgresql, claim_polls, (at(seconds=4),)) == []
    assert [r["reason"] for r in rows(postgresql, claim_polls, (at(seconds=5),))] == ["reconcile"]
    assert rows(postgresql, claim_polls, (at(seconds=14),)) == []  # claimed at 5 s, held 10 s
    assert len(rows(postgresql, claim_polls, (at(seconds=16),))) == 1


def test_no_function_hides_a_timing_in_an_interval_literal(postgresql):
    # Durations are settings (setting()); what remains are definitions, not tunables: VALR's
    # connection budget is per minute, and the alert windows are the spec's "last 24 hours" and
    # placements_failing's "in the last hour" (its threshold is a setting, per hour).
    found = rows(postgresql, r"""
        SELECT p.proname, (regexp_matches(p.prosrc, 'interval\s+''[^'']*''', 'g'))[1] AS literal
          FROM pg_proc p
         WHERE p.pronamespace = 'lth_pvr'::regnamespace
         ORDER BY 1, 2""")
    assert {(f["proname"], f["literal"]) for f in found} <= {
        ("session_open_within_budget", "interval '1 minute'"),
        ("alerts", "interval '24 hours'"),
        ("alerts", "interval '1 hour'"),
    }, found


def test_the_socket_watches_an_order_from_its_first_word_whatever_the_word(postgresql):
    # Two orders finished by a poll (not watched); then the socket speaks of each: an unchanged
    # status of one, a late fill of the other. Both count as watched from that word.
    account = make_account(postgresql)
    a = submitted_order(postgresql, account, ext="valr-a")
    b = submitted_order(postgresql, account, ext="valr-b")
    for ext, oid in (("valr-a", a), ("valr-b", b)):
        one(postgresql, "SELECT * FROM lth_pvr.record_poll(%s, 'ok', %s, NULL, %s)",
            (oid, Jsonb(status_payload(ext, "Cancelled", remaining="0.0005")), at(seconds=1)))
        assert order(postgresql, oid)["ws_monitored_at"] is None
    assert update(postgresql, account, status_payload("valr-a", "Cancelled", remaining="0.0005"),
                  now=at(seconds=2))["outcome"] == "unchanged"
    assert fill(postgresql, account, trade_payload("t-b", "valr-b", "0.0005"), now=at(seconds=2))["outcome"] == \
        "recorded"
    assert order(postgresql, a)["ws_monitored_at"] == at(seconds=2)
    assert order(postgresql, b)["ws_monitored_at"] == at(seconds=2)


def test_placing_to_submitted_is_one_rule_whoever_brings_the_word(postgresql):
    # No socket watches the account: the placement answer and a look-up finding the order placed
    # (VALR's word arriving first) both leave a reconciliation owed; a "Placed" heard on the socket
    # leaves the order watched instead.
    account = make_account(postgresql)
    by_answer, by_lookup, by_socket = (make_order(postgresql, account) for _ in range(3))
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0, accounts=[account])
    one(postgresql, "SELECT * FROM lth_pvr.record_placement(%s, 'valr-1', NULL, NULL, %s)", (by_answer, at(seconds=1)))
    for oid, ext, source in ((by_lookup, "valr-2", "placement"), (by_socket, "valr-3", "ws")):
        placed = status_payload(ext, "Placed", intent=order(postgresql, oid)["intent_id"])
        assert update(postgresql, account, placed, source=source, now=at(seconds=1))["outcome"] == "applied"
    columns = ("status", "submitted_at", "requires_polling", "ws_monitored_at", "reconcile_due_at")
    got = {oid: tuple(order(postgresql, oid)[c] for c in columns) for oid in (by_answer, by_lookup, by_socket)}
    owed = ("submitted", at(seconds=1), True, None, at(seconds=1))
    assert got == {by_answer: owed, by_lookup: owed,
                   by_socket: ("submitted", at(seconds=1), True, at(seconds=1), None)}
