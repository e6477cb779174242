"""One home per rule: every status move is a row of lth_pvr.transitions made by its one function (the
status guard refuses another, by name); every path to a final status goes through finish_order (with its clean-up),
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


# -- the transition table: every move has one home ---------------------------------------------

def permits(conn) -> list[tuple[str, str]]:
    """(function, the name its permit carries) for every call of allow_status_change in lth_pvr."""
    return [(r["proname"], r["via"]) for r in rows(conn, r"""
        SELECT p.proname, (regexp_matches(p.prosrc, 'allow_status_change\(\s*''([^'']*)''', 'g'))[1] AS via
          FROM pg_proc p WHERE p.pronamespace = 'lth_pvr'::regnamespace ORDER BY 1, 2""")]


def test_each_via_takes_the_permit_in_its_own_name_and_nothing_else_takes_one(postgresql):
    vias = {r["via"] for r in rows(postgresql, "SELECT via FROM lth_pvr.transitions")}
    assert sorted(set(permits(postgresql))) == sorted((via, via) for via in vias)
    # The permit's setting is written by allow_status_change alone: no function sets it itself.
    setters = rows(postgresql, r"""
        SELECT p.proname FROM pg_proc p
         WHERE p.pronamespace = 'lth_pvr'::regnamespace AND p.prosrc ~ 'lth_pvr\.status_change'
         ORDER BY 1""")
    assert [s["proname"] for s in setters] == ["allow_status_change", "exchange_orders_status_guard"]


def test_the_readme_transition_table_is_generated_from_the_table(postgresql):
    from worker.lab.transitions_doc import describe, readme_path, section

    assert section(readme_path().read_text()) == describe(postgresql), (
        "db/functions/README.md's transition table is stale: run `python -m worker.lab.transitions_doc --write`")


# How a test order reaches a status: (the status before, the move's via, what the move sets).
STEPS = {"placing": ("pending", "claim_pending_orders", "claimed_by = 'w1', claimed_at = now()"),
         "submitted": ("placing", "submit_order", "submitted_at = now()"),
         "failed": ("placing", "finish_order", "failed_inferred_at = now()")}
# What each exception's condition (only_when) asks of the row.
CONDITIONS = {None: "", "unclaimed_and_unsent": ", claimed_by = NULL, placement_sent_at = NULL",
              "inferred_failure": ", revived_at = now()"}


def move(conn, order_id, to_status, permit, extra=""):
    if to_status in ("submitted", "filled", "cancelled"):  # an order VALR holds has VALR's id
        extra += ", ext_order_id = coalesce(ext_order_id, 'valr-' || exchange_order_id)"
    conn.execute("SELECT set_config('lth_pvr.status_change', %s, true)", (permit,))
    conn.execute(f"UPDATE lth_pvr.exchange_orders SET status = %s {extra} WHERE exchange_order_id = %s",
                 (to_status, order_id))


def order_in(conn, status):
    if status == "pending":
        return make_order(conn, make_account(conn))
    before, via, sets = STEPS[status]
    order_id = order_in(conn, before)
    move(conn, order_id, status, via, ", " + sets)
    return order_id


TRANSITIONS = [("pending", "placing", "claim_pending_orders", None), ("pending", "cancelled", "finish_order", None),
               ("placing", "submitted", "submit_order", None), ("placing", "filled", "finish_order", None),
               ("placing", "cancelled", "finish_order", None), ("placing", "failed", "finish_order", None),
               ("placing", "pending", "place_again", "unclaimed_and_unsent"),
               ("placing", "pending", "record_auth_refused", "unclaimed_and_unsent"),
               ("submitted", "filled", "finish_order", None), ("submitted", "cancelled", "finish_order", None),
               ("submitted", "failed", "finish_order", None),
               ("failed", "submitted", "revive_order", "inferred_failure")]


def test_the_table_is_the_life_of_an_order(postgresql):
    got = rows(postgresql, "SELECT from_status, to_status, via, only_when FROM lth_pvr.transitions")
    assert sorted(str(tuple(r.values())) for r in got) == sorted(str(t) for t in TRANSITIONS)


@pytest.mark.parametrize("from_status, to_status, via, only_when", TRANSITIONS,
                         ids=[f"{f}-{t}-{v}" for f, t, v, _ in TRANSITIONS])
def test_each_move_is_made_by_its_via_and_refused_by_name_under_another(postgresql, from_status, to_status, via,
                                                                        only_when):
    order_id = order_in(postgresql, from_status)
    extra = CONDITIONS[only_when]
    wrong = "submit_order" if via != "submit_order" else "finish_order"
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        with postgresql.transaction():
            move(postgresql, order_id, to_status, wrong, extra)
    assert refused.value.diag.constraint_name == "status_transition_must_go_via_its_function"
    assert via in str(refused.value).split(" not by ")[0] and f"not by {wrong}" in str(refused.value)
    with pytest.raises(psycopg.errors.CheckViolation) as by_hand:
        with postgresql.transaction():
            move(postgresql, order_id, to_status, "", extra)
    assert by_hand.value.diag.constraint_name == "status_must_change_through_functions"
    move(postgresql, order_id, to_status, via, extra)
    assert order(postgresql, order_id)["status"] == to_status


@pytest.mark.parametrize("from_status, to_status, via, extra", [
    ("placing", "pending", "place_again", ""),                        # the claim not undone
    ("failed", "submitted", "revive_order", ", revived_at = now()"),  # a failure VALR said, not inferred
    ("submitted", "pending", "finish_order", ""),                     # no row at all
])
def test_a_move_whose_row_or_condition_is_missing_is_illegal(postgresql, from_status, to_status, via, extra):
    order_id = order_in(postgresql, from_status)
    postgresql.execute("UPDATE lth_pvr.exchange_orders SET failed_inferred_at = NULL WHERE exchange_order_id = %s",
                       (order_id,))
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        move(postgresql, order_id, to_status, via, extra)
    assert refused.value.diag.constraint_name == "status_transition_must_be_legal"


def test_every_path_to_a_final_status_goes_through_finish_order(postgresql):
    # The guard enforces finish_order at run time (above); its callers are the paths to a final status.
    callers = rows(postgresql, r"""
        SELECT p.proname FROM pg_proc p
         WHERE p.pronamespace = 'lth_pvr'::regnamespace AND p.prosrc ~ '\mfinish_order\s*\('
           AND p.proname <> 'finish_order'
         ORDER BY 1""")
    assert [c["proname"] for c in callers] == [
        "apply_order_payload", "record_placement", "request_cancel", "settle_lost_placement"]


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
    # placements_failing's "in the last hour" (its threshold is a setting, per hour); VALR's
    # across-subaccount history window is at most 7 days.
    found = rows(postgresql, r"""
        SELECT p.proname, (regexp_matches(p.prosrc, 'interval\s+''[^'']*''', 'g'))[1] AS literal
          FROM pg_proc p
         WHERE p.pronamespace = 'lth_pvr'::regnamespace
         ORDER BY 1, 2""")
    allowed = {"interval '24 hours'": {"alert_polls_per_day", "alert_ws_failures", "alert_revived_orders",
                                       "alert_illegal_from_failed"},
               "interval '1 hour'": {"alert_placements_failing"},
               "interval '1 minute'": {"session_open_within_budget"},
               "interval '7 days'": {"claim_ledger_batch"}}
    assert [f for f in found if f["proname"] not in allowed.get(f["literal"], ())] == []


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


# Each named condition: its one home, and a pattern that finds a copy of it (function bodies, view
# definitions and trigger WHEN clauses of lth_pvr, case-insensitive).
NAMED_CONDITIONS = {
    "is_final": r"'filled'(::text)?,\s*'cancelled'(::text)?,\s*'failed'",
    "is_open": r"'pending'(::text)?,\s*'placing'(::text)?,\s*'submitted'",
    "live_leases": r"expires_at\s*>\s*",
    "worker_leases": r"live_leases\([^)]*\)\s+\w+\s+WHERE\s+\w+\.worker_id\s*=",
    "worker_is_live": r"last_seen_at\s*>",
    "fallback_armed": r"fallback_requested_at\s+IS\s+NULL\s+AND\s+\S*cancel_requested_at\s+IS\s+NULL",
    "mark_poll_due": r"poll_due_at\s*=\s*(coalesce|p_now)",
    "order_is_stuck": r"coalesce\(\S*exchange_confirmed_at,\s*\S*submitted_at\)\s*<",
    "order_needs_attention": r"fallback_outcome\s*(IN\s*\(|=\s*ANY\s*\(ARRAY\[)'remainder_unknown'",
}

SOURCES = """
    SELECT p.proname AS name, p.prosrc AS source FROM pg_proc p WHERE p.pronamespace = 'lth_pvr'::regnamespace
    UNION ALL
    SELECT 'view ' || c.relname, pg_get_viewdef(c.oid) FROM pg_class c
     WHERE c.relnamespace = 'lth_pvr'::regnamespace AND c.relkind = 'v'
    UNION ALL
    SELECT 'trigger ' || t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'lth_pvr'::regnamespace AND NOT t.tgisinternal"""


def test_each_named_condition_has_one_home_and_no_copy(postgresql):
    homes = {}
    for condition, pattern in NAMED_CONDITIONS.items():
        found = rows(postgresql, f"SELECT s.name FROM ({SOURCES}) s WHERE s.source ~* %s ORDER BY 1", (pattern,))
        homes[condition] = [f["name"] for f in found]
    assert homes == {condition: [condition] for condition in NAMED_CONDITIONS}


def test_the_worker_asks_sql_which_statuses_are_final(postgresql):
    # The list lives in is_final: the daemon keeps no copy of it (record_batch's rows carry `final`).
    from pathlib import Path
    import re
    daemon = Path(__file__).parents[1] / "worker" / "daemon"
    copies = [p.name for p in daemon.glob("*.py")
              if re.search(r"""["']filled["'],\s*["']cancelled["'],\s*["']failed["']""", p.read_text())]
    assert copies == []


def test_final_and_open_split_the_status_vocabulary(postgresql):
    check = scalar(postgresql, """SELECT pg_get_constraintdef(oid) FROM pg_constraint
                                   WHERE conname = 'status_must_be_known'""")
    import re
    # Either spelling: a list of constants ('a'::text, …) or one array constant ('{a,…}'::text[]).
    words = re.search(r"'\{([^}]*)\}'::text\[\]", check)
    statuses = words.group(1).split(",") if words else re.findall(r"'(\w+)'::text", check)
    assert len(statuses) == 6, check
    split = rows(postgresql, "SELECT s, lth_pvr.is_final(s) AS final, lth_pvr.is_open(s) AS open FROM unnest(%s::text[]) s",
                 (statuses,))
    assert all(r["final"] != r["open"] for r in split), split
