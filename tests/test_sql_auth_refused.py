"""An authentication refusal stops placement for the worker's key instead of failing its orders:
record_auth_refused puts the refused and the unsent claims back to pending, the worker claims and
sends nothing more, and record_auth_accepted lets it place again."""

from __future__ import annotations

import threading

import psycopg
import pytest

from tests.harness import wait_for
from tests.support.sql import T0, at, claim, lease, make_account, make_order, order, scalar

BEGIN = "SELECT lth_pvr.begin_placement(%s, %s)"


def test_refused_and_unsent_claims_go_back_to_pending(postgresql):
    account = make_account(postgresql)
    ids = [make_order(postgresql, account) for _ in range(3)]
    lease(postgresql, "w1")
    assert len(claim(postgresql, "w1", T0)) == 3
    refused, in_flight, unsent = ids
    assert scalar(postgresql, BEGIN, (refused, T0)) and scalar(postgresql, BEGIN, (in_flight, T0))
    back = scalar(postgresql, "SELECT lth_pvr.record_auth_refused('w1', 'VALR 401 code=-1: Invalid API key', %s, %s)",
                  (refused, at(seconds=1)))
    assert back == 2
    assert order(postgresql, refused)["status"] == "pending" and order(postgresql, unsent)["status"] == "pending"
    assert order(postgresql, refused)["placement_sent_at"] is None and order(postgresql, refused)["claimed_by"] is None
    # A request that left and was not refused still has its answer to come: it stays placing.
    assert order(postgresql, in_flight)["status"] == "placing"
    kinds = scalar(postgresql, "SELECT array_agg(detail ORDER BY event_id) FROM lth_pvr.order_events "
                               "WHERE kind = 'claim' AND new_status = 'pending'")
    assert len(kinds) == 2 and all("Invalid API key" in d for d in kinds)


def test_a_refused_worker_claims_and_sends_nothing_until_accepted(postgresql):
    account = make_account(postgresql)
    first = make_order(postgresql, account)
    lease(postgresql, "w1")
    assert claim(postgresql, "w1", T0)
    postgresql.execute("SELECT lth_pvr.record_auth_refused('w1', 'Invalid API key', NULL, %s)", (T0,))
    assert claim(postgresql, "w1", at(seconds=1)) == []
    assert order(postgresql, first)["status"] == "pending"
    # A claim taken just before the refusal is not sent either: begin_placement says no.
    postgresql.execute("SELECT lth_pvr.record_auth_accepted('w1', %s)", (at(seconds=2),))
    assert claim(postgresql, "w1", at(seconds=3))
    postgresql.execute("UPDATE lth_pvr.workers SET auth_refused_at = %s WHERE worker_id = 'w1'", (at(seconds=4),))
    assert scalar(postgresql, BEGIN, (first, at(seconds=5))) is False
    postgresql.execute("SELECT lth_pvr.record_auth_refused('w1', 'Invalid API key', NULL, %s)", (at(seconds=6),))
    assert order(postgresql, first)["status"] == "pending"


def test_only_an_unclaimed_unsent_order_may_go_back_to_pending(postgresql):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    claim(postgresql, "w1", T0)
    postgresql.execute(BEGIN, (order_id, T0))
    with pytest.raises(psycopg.errors.CheckViolation, match="cannot go from placing to pending"):
        postgresql.execute("UPDATE lth_pvr.exchange_orders SET status = 'pending' WHERE exchange_order_id = %s",
                           (order_id,))


def test_a_worker_whose_clock_valr_refuses_claims_nothing_until_a_good_check(postgresql):
    # The clock gate is SQL's, like the refused key's: orders stay pending, never failed.
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    postgresql.execute("SELECT lth_pvr.record_clock_check('w1', 600, true, %s)", (T0,))
    assert claim(postgresql, "w1", at(seconds=1)) == []
    assert order(postgresql, order_id)["status"] == "pending"
    postgresql.execute("SELECT lth_pvr.record_clock_check('w1', 0.2, false, %s)", (at(seconds=2),))
    assert [c["exchange_order_id"] for c in claim(postgresql, "w1", at(seconds=3))] == [order_id]


def test_a_claim_racing_the_refusal_is_sent_back_by_it(postgresql, db_url):
    """A claim still open when the key is refused: the refusal waits for it and sends its orders back
    to pending. Without the claim's lock the refusal misses them and they sit `placing`, unsent, until
    their grace (the worker's begin_placement refuses them meanwhile)."""
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    postgresql.commit()
    back: list[int] = []
    with psycopg.connect(db_url) as claimer, psycopg.connect(db_url, autocommit=True) as refuser, \
            psycopg.connect(db_url, autocommit=True) as watcher:
        assert [c["exchange_order_id"] for c in claim(claimer, "w1", T0)] == [order_id]  # not committed yet
        thread = threading.Thread(target=lambda: back.append(scalar(
            refuser, "SELECT lth_pvr.record_auth_refused('w1', 'Invalid API key', NULL, %s)", (at(seconds=1),))))
        thread.start()
        wait_for(lambda: back or scalar(watcher, "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                        (refuser.info.backend_pid,)) == "Lock",
                 timeout=10, what="the refusal waits for the open claim")
        claimer.commit()
        thread.join(10)
    assert back == [1]
    assert order(postgresql, order_id)["status"] == "pending"


def test_a_claim_after_a_refusal_committed_claims_nothing(postgresql, db_url):
    account = make_account(postgresql)
    order_id = make_order(postgresql, account)
    lease(postgresql, "w1")
    postgresql.commit()
    with psycopg.connect(db_url) as refuser, psycopg.connect(db_url) as claimer, \
            psycopg.connect(db_url, autocommit=True) as watcher:
        refuser.execute("SELECT lth_pvr.record_auth_refused('w1', 'Invalid API key', NULL, %s)", (T0,))
        claimed: list = []
        thread = threading.Thread(target=lambda: claimed.append(claim(claimer, "w1", at(seconds=1))))
        thread.start()
        wait_for(lambda: claimed or scalar(watcher, "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                           (claimer.info.backend_pid,)) == "Lock",
                 timeout=10, what="the claim waits for the refusal")
        refuser.commit()
        thread.join(10)
        claimer.commit()
    assert claimed == [[]]
    assert order(postgresql, order_id)["status"] == "pending"
