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
