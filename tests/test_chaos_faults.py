"""The chaos faults that act on the database alone, injected once against a test database: issue 21's
intent_insert — an operator's plain INSERT for an intent already executing — is refused by name."""

from __future__ import annotations

import random

from tests.support.sql import at, fallback_order, fill, make_account, status_payload, trade_payload, update
from worker.lab.chaos.faults import INTENT_INSERT_RULE, FaultInjector, FaultPlan


def test_intent_insert_is_refused_by_the_intent_invariant(postgresql, db_url):
    injector = FaultInjector(random.Random(1), FaultPlan(seconds=1, pg_restart=False), sim=None, workers=[],
                             admin_url=db_url, restart_pg=None)
    injector._intent_insert()
    assert injector.records[-1].detail.startswith("nothing to insert yet") and not injector.records[-1].accepted
    account = make_account(postgresql)
    _, ext = fallback_order(postgresql, account)
    fill(postgresql, account, trade_payload("t1", ext, "0.0004"), now=at(seconds=1))
    update(postgresql, account, status_payload(ext, "Cancelled", remaining="0.0006"), now=at(seconds=2))
    postgresql.commit()
    injector._intent_insert()
    record = injector.records[-1]
    assert (record.kind, record.accepted) == ("intent_insert", False)
    assert record.detail.endswith(f"refused ({INTENT_INSERT_RULE})"), record.detail


def test_a_restarts_rewatch_limit_counts_from_valrs_answers_not_through_a_rest_storm():
    """A worker restarted just before a REST storm cannot pass its start's clock check until VALR answers
    again: the seconds every REST call was refused (the storms' union, within the restart's window) are
    added to the rewatch limit; other faults add nothing."""
    from worker.lab.chaos.faults import FaultRecord

    injector = FaultInjector(random.Random(1), FaultPlan(seconds=1, pg_restart=False), sim=None, workers=[],
                             admin_url="", restart_pg=None)
    injector.records = [FaultRecord(2.0, "rest_429_storm", "", until_s=6.0),
                        FaultRecord(15.0, "rest_429_long_storm", "", until_s=49.0),
                        FaultRecord(20.0, "rest_429_storm", "", until_s=24.0),   # inside the long one
                        FaultRecord(16.0, "events_dropped", "", until_s=30.0)]   # not a REST refusal
    assert injector._rest_storm_s(10.0, 60.0) == 34.0
    assert injector._rest_storm_s(4.0, 20.0) == 2.0 + 5.0
    assert injector._rest_storm_s(50.0, 60.0) == 0.0
