"""At most one placement request per order, never after the order moved on; the lost-placement grace
counts from when the request left; a placement that cannot reach VALR any more is placed again (the
same row back to pending), never twice at once."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.sql import T0, at, claim, events, lease, make_account, make_order, order, rows, scalar, settle


def begin(conn, order_id, now) -> bool:
    return conn.execute("SELECT lth_pvr.begin_placement(%s, %s)", (order_id, now)).fetchone()[0]


def not_found(conn, order_id, now) -> dict:
    return rows(conn, "SELECT * FROM lth_pvr.record_placement_not_found(%s, %s)", (order_id, now))[0]


def unresolved(conn, now) -> list:
    return [r["exchange_order_id"] for r in rows(
        conn, "SELECT * FROM lth_pvr.list_unresolved_placements(10, NULL, %s)", (now,))]


def claimed_order(conn):
    account = make_account(conn)
    order_id = make_order(conn, account)
    lease(conn, "w1")
    claim(conn, "w1", T0)
    return order_id


def test_a_request_leaves_once(postgresql):
    order_id = claimed_order(postgresql)
    assert begin(postgresql, order_id, at(seconds=1)) is True
    assert begin(postgresql, order_id, at(seconds=2)) is False  # a second POST is refused
    assert order(postgresql, order_id)["placement_sent_at"] == at(seconds=1)


def test_a_pending_order_is_never_sent(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    assert begin(postgresql, order_id, T0) is False


def test_grace_counts_from_when_the_request_left_not_from_the_claim(postgresql):
    # Claimed at T0, but the request waited 100 s for its socket and the rate budget.
    order_id = claimed_order(postgresql)
    assert begin(postgresql, order_id, at(seconds=100))
    # 130 s after the claim but only 30 s after sending: still within the 120 s grace.
    assert not_found(postgresql, order_id, at(seconds=130)) == {"status": "placing", "changed": False}
    assert not_found(postgresql, order_id, at(seconds=221)) == {"status": "pending", "changed": True}
    assert order(postgresql, order_id)["placement_requeues"] == 1


def requeue(conn, now, worker=None) -> int:
    return scalar(conn, "SELECT lth_pvr.requeue_unsent_placements(%s, %s)", (worker, now))


def test_a_claim_whose_request_never_left_is_placed_again_not_failed(postgresql):
    order_id = claimed_order(postgresql)
    # Never sent: no lookup is needed (nothing left); while its claimer holds the lease, within the
    # grace since the claim, it is the claimer's to send.
    assert unresolved(postgresql, at(seconds=121)) == []
    assert requeue(postgresql, at(seconds=60)) == 0
    assert requeue(postgresql, at(seconds=120)) == 1  # begin_placement refuses it from now on
    o = order(postgresql, order_id)
    assert (o["status"], o["claimed_by"], o["placement_requeues"], o["failed_reason"]) == ("pending", None, 1, None)
    last = events(postgresql, order_id)[-1]
    assert (last["kind"], last["outcome"], last["old_status"], last["new_status"]) == \
        ("claim", "placed_again", "placing", "pending")
    assert "never left" in last["detail"] and "grace is over" in last["detail"]
    assert begin(postgresql, order_id, at(seconds=121)) is False  # the old claim sends nothing
    # Claimed again: of the old claimer (alive after all) and the new one, exactly one request leaves.
    assert [c["exchange_order_id"] for c in claim(postgresql, "w1", at(seconds=122))] == [order_id]
    assert [begin(postgresql, order_id, at(seconds=123)) for _ in range(2)] == [True, False]


def test_a_claim_whose_claimer_lost_its_lease_is_placed_again_at_once(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1", T0, ttl=30)
    claim(postgresql, "w1", T0)
    assert requeue(postgresql, at(seconds=29)) == 0
    assert requeue(postgresql, at(seconds=31), worker="w2") == 0  # w2 holds no lease of the account
    assert requeue(postgresql, at(seconds=31)) == 1               # the claimer's lease ran out (killed)
    assert "holds no lease" in events(postgresql, order_id)[-1]["detail"]
    assert order(postgresql, order_id)["status"] == "pending"


def retry(conn, order_id, attempt, now) -> bool:
    return conn.execute("SELECT lth_pvr.retry_placement(%s, %s, %s)", (order_id, attempt, now)).fetchone()[0]


def test_no_first_request_leaves_after_the_grace_since_the_claim(postgresql):
    order_id = claimed_order(postgresql)
    assert begin(postgresql, order_id, at(seconds=120)) is False  # a lookup may call it lost now
    assert order(postgresql, order_id)["placement_sent_at"] is None


def test_each_retry_after_a_429_is_checked_and_restamps_the_grace(postgresql):
    order_id = claimed_order(postgresql)
    assert begin(postgresql, order_id, at(seconds=1))
    assert retry(postgresql, order_id, 3, at(seconds=2)) is False      # not the next attempt
    assert retry(postgresql, order_id, 2, at(seconds=61)) is True      # after a 429's minute wait
    assert order(postgresql, order_id)["placement_sent_at"] == at(seconds=61)
    # The grace counts from the request actually on its way: 100 s after the first, 40 after this one.
    assert not_found(postgresql, order_id, at(seconds=101)) == {"status": "placing", "changed": False}
    # Past the grace since the last attempt, VALR does not know it: placed again.
    assert not_found(postgresql, order_id, at(seconds=182))["status"] == "pending"
    assert retry(postgresql, order_id, 3, at(seconds=183)) is False    # the old claim's retry: not sent
    assert order(postgresql, order_id)["status"] == "pending"          # nor the order failed
    # Claimed again: the attempts go on from 2. The old claim's held retry (its attempt 3 expects 2
    # sent) never matches; the new claim's first retry is attempt 2 + 2.
    claimed = claim(postgresql, "w1", at(seconds=184))
    assert [(c["exchange_order_id"], c["placement_attempts"]) for c in claimed] == [(order_id, 2)]
    assert begin(postgresql, order_id, at(seconds=185))
    assert retry(postgresql, order_id, 3, at(seconds=186)) is False
    assert retry(postgresql, order_id, 4, at(seconds=187)) is True


def test_a_retry_refused_once_its_grace_passed_fails_the_order_in_sql(postgresql):
    # VALR refused attempt 1 (a 429, a stale timestamp) and the grace since it left passed while the
    # retry waited: VALR holds nothing, no retry leaves, and SQL (not the worker) fails the order.
    order_id = claimed_order(postgresql)
    assert begin(postgresql, order_id, at(seconds=1))
    assert retry(postgresql, order_id, 2, at(seconds=121)) is False
    o = order(postgresql, order_id)
    assert (o["status"], o["failed_inferred_at"]) == ("failed", None)
    assert o["failed_reason"].startswith("VALR refused every attempt (rate limit or clock)")
    assert [(e["kind"], e["outcome"], e["new_status"]) for e in events(postgresql, order_id)[-2:]] == [
        ("placement_retry", "not_sent", "placing"), ("placement", "applied", "failed")]


def test_a_202_for_an_order_failed_by_inference_brings_it_back_under_valrs_word(postgresql):
    settle(postgresql, placement_requeues_max=0)
    order_id = claimed_order(postgresql)
    assert begin(postgresql, order_id, at(seconds=1))
    assert not_found(postgresql, order_id, at(seconds=130))["status"] == "failed"
    assert order(postgresql, order_id)["failed_inferred_at"] == at(seconds=130)
    row = rows(postgresql, "SELECT * FROM lth_pvr.record_placement(%s, 'valr-1', NULL, NULL, %s)",
               (order_id, at(seconds=131)))[0]
    assert row == {"status": "submitted", "changed": True}
    back = order(postgresql, order_id)
    assert (back["ext_order_id"], back["revived_at"], back["failed_inferred_at"], back["finished_at"],
            back["requires_polling"]) == ("valr-1", at(seconds=131), None, None, True)


def test_an_order_valr_refused_does_not_come_back(postgresql):
    order_id = claimed_order(postgresql)
    assert begin(postgresql, order_id, at(seconds=1))
    rows(postgresql, "SELECT * FROM lth_pvr.record_placement(%s, NULL, 'VALR refused: -1 no', NULL, %s)",
         (order_id, at(seconds=2)))
    row = rows(postgresql, "SELECT * FROM lth_pvr.record_placement(%s, 'valr-1', NULL, NULL, %s)",
               (order_id, at(seconds=3)))[0]
    assert row == {"status": "failed", "changed": False}
    assert order(postgresql, order_id)["revived_at"] is None


def test_a_claim_of_a_process_restarted_under_the_same_id_is_placed_again_at_once(postgresql):
    """Issue 21 item 10: a worker restarted under its own --worker-id keeps the id's leases, so its dead
    process's unsent claims are the new process's at once (worker_started), not after the grace."""
    postgresql.execute("SELECT lth_pvr.worker_started('w1', 'h', 100, NULL, %s)", (T0,))
    order_id = claimed_order(postgresql)
    assert requeue(postgresql, at(seconds=5), "w1") == 0  # the same process: still its to send
    postgresql.execute("SELECT lth_pvr.worker_started('w1', 'h', 200, NULL, %s)", (at(seconds=6),))
    assert requeue(postgresql, at(seconds=7), "w1") == 1
    assert order(postgresql, order_id)["status"] == "pending"
    assert "its claimer restarted since" in events(postgresql, order_id)[-1]["detail"]


REFUSED = "SELECT * FROM lth_pvr.record_placement_refused(%s, %s, %s, %s)"


@pytest.mark.parametrize("refusal, detail, reason", [
    ("valr_error", "-11 Insufficient Balance", "VALR refused: -11 Insufficient Balance"),
    ("rate_limited", "429 Too Many Requests", "VALR rate limit: not accepted (429 Too Many Requests)"),
    ("precision", "qty 0.00000001 below 8 decimals", "refused before sending: qty 0.00000001 below 8 decimals"),
])
def test_sql_decides_what_a_refused_placement_does(postgresql, refusal, detail, reason):
    # The worker says what it heard; SQL fails the order (VALR accepted nothing), as record_placement does.
    order_id = claimed_order(postgresql)
    assert begin(postgresql, order_id, at(seconds=1))
    assert rows(postgresql, REFUSED, (order_id, refusal, detail, at(seconds=2))) == [
        {"status": "failed", "changed": True}]
    o = order(postgresql, order_id)
    assert (o["status"], o["failed_reason"], o["failed_inferred_at"]) == ("failed", reason, None)
    assert (events(postgresql, order_id)[-1]["kind"], events(postgresql, order_id)[-1]["outcome"]) == (
        "placement", "applied")


def test_an_unknown_refusal_is_a_programmer_error(postgresql):
    order_id = claimed_order(postgresql)
    with pytest.raises(psycopg.errors.InvalidParameterValue), postgresql.transaction():
        rows(postgresql, REFUSED, (order_id, "timeout", "x", at(seconds=2)))
    assert order(postgresql, order_id)["status"] == "placing"
