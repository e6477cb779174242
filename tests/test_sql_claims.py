"""Placement claims (two claimers never get one order), unresolved placements, cancels."""

from __future__ import annotations

import threading

import psycopg

from tests.support.sql import (
    T0, at, claim, lease, listener, make_account, make_order, one, order, place, received, rows, scalar, settle,
    status_payload, submitted_order, update,
)


def test_claims_oldest_first_only_for_leased_accounts(postgresql):
    mine, other = make_account(postgresql), make_account(postgresql)
    newer = make_order(postgresql, mine, created_at=at(seconds=2))
    older = make_order(postgresql, mine, created_at=at(seconds=1))
    make_order(postgresql, other, created_at=T0)
    # w1 takes one account, w2 the other (fair share 1 each).
    postgresql.execute("SELECT lth_pvr.worker_heartbeat('w2', 'h', 2, %s)", (T0,))
    held = lease(postgresql, "w1")
    assert len(held) == 1
    leased = held[0]["exchange_account_id"]
    claimed = claim(postgresql, "w1", at(seconds=3))
    assert all(c["exchange_account_id"] == leased for c in claimed)
    if leased == mine:
        assert [c["exchange_order_id"] for c in claimed] == [older, newer]
    assert claim(postgresql, "nobody", at(seconds=3)) == []  # no lease, no orders


def test_claim_respects_account_filter_and_limit(postgresql):
    a, b = make_account(postgresql), make_account(postgresql)
    for i in range(3):
        make_order(postgresql, a, created_at=at(seconds=i))
        make_order(postgresql, b, created_at=at(seconds=i))
    lease(postgresql, "w1")
    assert {c["exchange_account_id"] for c in claim(postgresql, "w1", limit=2, accounts=[b])} == {b}
    assert len(claim(postgresql, "w1", limit=10, accounts=[b])) == 1
    assert len(claim(postgresql, "w1", limit=10)) == 3


def test_an_expired_lease_claims_nothing(postgresql):
    account = make_account(postgresql)
    make_order(postgresql, account)
    lease(postgresql, "w1", T0, ttl=30)
    assert claim(postgresql, "w1", at(seconds=31)) == []


def test_two_concurrent_claimers_never_get_the_same_order(postgresql, db_url):
    account = make_account(postgresql)
    ids = {make_order(postgresql, account, created_at=at(milliseconds=i)) for i in range(40)}
    lease(postgresql, "w1")
    postgresql.commit()

    a, b = psycopg.connect(db_url), psycopg.connect(db_url)
    try:
        # a holds its claim open (not committed) while b claims: SKIP LOCKED hands b other orders.
        first = {r[0] for r in a.execute("SELECT exchange_order_id FROM lth_pvr.claim_pending_orders('w1', NULL, 15, p_now => %s)", (T0,))}
        second = {r[0] for r in b.execute("SELECT exchange_order_id FROM lth_pvr.claim_pending_orders('w1', NULL, 15, p_now => %s)", (T0,))}
        a.commit()
        b.commit()
    finally:
        a.close()
        b.close()
    assert len(first) == 15 and len(second) == 15 and not first & second
    assert first | second <= ids


def test_racing_claimers_in_threads_partition_the_orders(postgresql, db_url):
    account = make_account(postgresql)
    for i in range(200):
        make_order(postgresql, account, created_at=at(milliseconds=i))
    lease(postgresql, "w1")
    postgresql.commit()
    results: list[list] = [[], [], [], []]

    def claimer(slot: int) -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            while batch := [r[0] for r in conn.execute(
                    "SELECT exchange_order_id FROM lth_pvr.claim_pending_orders('w1', NULL, 7, p_now => %s)", (T0,))]:
                results[slot].extend(batch)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [x for r in results for x in r]
    assert len(everything) == 200 and len(set(everything)) == 200


def test_unresolved_placements_are_listed_after_n_seconds(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    # The request leaves (begin_placement) at T0; its answer is lost.
    assert postgresql.execute("SELECT lth_pvr.begin_placement(%s, %s)", (order_id, T0)).fetchone()[0]
    listed = lambda now, worker=None: [r["exchange_order_id"] for r in rows(  # noqa: E731
        postgresql, "SELECT * FROM lth_pvr.list_unresolved_placements(10, %s, %s)", (worker, now))]
    assert listed(at(seconds=10)) == []
    assert listed(at(seconds=11)) == [order_id]
    assert listed(at(seconds=11), "w1") == [order_id]
    assert listed(at(seconds=11), "w2") == []
    place(postgresql, order_id, "valr-1", now=at(seconds=12))
    assert listed(at(seconds=60)) == []


def test_lost_placement_found_by_lookup_becomes_submitted(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    intent = order(postgresql, order_id)["intent_id"]
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    answer = status_payload("valr-5", "Placed", intent=intent)
    result = one(postgresql, "SELECT * FROM lth_pvr.record_poll(%s, 'ok', %s, NULL, %s)",
                 (order_id, psycopg.types.json.Jsonb(answer), at(seconds=30)))
    assert (result["old_status"], result["new_status"], result["outcome"]) == ("placing", "submitted", "applied")
    assert order(postgresql, order_id)["ext_order_id"] == "valr-5"


def test_lost_placement_unknown_to_valr_fails_only_after_the_grace_and_the_placings_again(postgresql):
    settle(postgresql, placement_requeues_max=0)
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    assert scalar(postgresql, "SELECT lth_pvr.begin_placement(%s, %s)", (order_id, T0))
    poll = "SELECT * FROM lth_pvr.record_poll(%s, 'not_found', NULL, 'Invalid Order', %s)"
    assert one(postgresql, poll, (order_id, at(seconds=60)))["outcome"] == "not_found"
    assert order(postgresql, order_id)["status"] == "placing"
    assert one(postgresql, "SELECT * FROM lth_pvr.record_poll(%s, 'error', NULL, 'timeout', %s)",
               (order_id, at(seconds=200)))["outcome"] == "error"
    assert order(postgresql, order_id)["status"] == "placing"  # a transport error proves nothing
    result = one(postgresql, poll, (order_id, at(seconds=121)))
    assert (result["new_status"], result["outcome"]) == ("failed", "lost_placement")
    o = order(postgresql, order_id)
    assert (o["status"], o["poll_failures"], o["requires_polling"]) == ("failed", 3, False)
    assert "after the request left" in o["failed_reason"] and o["failed_inferred_at"] == at(seconds=121)


def test_request_cancel_outcomes_and_notify(postgresql, db_url):
    account = make_account(postgresql)
    open_order = submitted_order(postgresql, account, ext="valr-1", now=at(seconds=1))
    done = submitted_order(postgresql, account, ext="valr-2", now=at(seconds=1))
    pending = make_order(postgresql, account)
    update(postgresql, account, status_payload("valr-2", "Filled", remaining="0"))
    postgresql.commit()
    cancel = "SELECT lth_pvr.request_cancel(%s, %s)"
    with listener(db_url, "lth_pvr_cancel") as listen:
        assert scalar(postgresql, cancel, (open_order, at(seconds=5))) == "requested"
        assert scalar(postgresql, cancel, (open_order, at(seconds=6))) == "already_requested"
        assert scalar(postgresql, cancel, (pending, at(seconds=6))) == "cancelled_before_placement"
        assert scalar(postgresql, cancel, (done, at(seconds=6))) == "terminal"
        assert scalar(postgresql, cancel, ("00000000-0000-0000-0000-000000000000", at(seconds=6))) == "unknown_id"
        postgresql.commit()
        assert received(listen, expect=1) == [("lth_pvr_cancel", str(open_order))]
    assert order(postgresql, pending)["status"] == "cancelled"
    assert order(postgresql, open_order)["status"] == "submitted"  # only VALR's word cancels it

    sent = rows(postgresql, "SELECT * FROM lth_pvr.claim_cancel_requests('w1', p_now => %s)", (at(seconds=7),))
    assert [(s["exchange_order_id"], s["ext_order_id"]) for s in sent] == [(open_order, "valr-1")]
    assert rows(postgresql, "SELECT * FROM lth_pvr.claim_cancel_requests('w1', p_now => %s)", (at(seconds=8),)) == []
    assert order(postgresql, open_order)["cancel_sent_at"] == at(seconds=7)
