"""At most one placement request per order, never after the order moved on; the lost-placement grace
counts from when the request left."""

from __future__ import annotations

from tests.test_sql_support import T0, at, claim, lease, make_account, make_order, order, rows


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
    assert not_found(postgresql, order_id, at(seconds=221)) == {"status": "failed", "changed": True}
    assert "answer lost" in order(postgresql, order_id)["failed_reason"]


def test_an_order_failed_while_its_request_waited_is_not_sent(postgresql):
    order_id = claimed_order(postgresql)
    # Never sent: listed for a lookup only once the claim is older than the grace period.
    assert unresolved(postgresql, at(seconds=60)) == []
    assert unresolved(postgresql, at(seconds=121)) == [order_id]
    assert not_found(postgresql, order_id, at(seconds=121)) == {"status": "failed", "changed": True}
    assert "never left" in order(postgresql, order_id)["failed_reason"]
    assert begin(postgresql, order_id, at(seconds=122)) is False


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
    # Past the grace since the last attempt, no retry leaves (another worker may fail it any moment).
    assert retry(postgresql, order_id, 3, at(seconds=181)) is False
    assert not_found(postgresql, order_id, at(seconds=182))["status"] == "failed"
    assert retry(postgresql, order_id, 3, at(seconds=183)) is False    # and never once it failed


def test_a_202_for_an_order_failed_by_inference_brings_it_back_under_valrs_word(postgresql):
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
