"""Money races (issue 14) end to end: real PostgreSQL, the simulator over real sockets, worker processes.

Each test injects one fault class the chaos harness also injects, and fails without its fix.
"""

from __future__ import annotations

import pytest

from tests.harness import wait_for

pytestmark = pytest.mark.slow

DELETE = "DELETE /v1/orders/order"


def _cancel_events(orders, order_id) -> list[tuple[str, str]]:
    return orders.sql("SELECT source, outcome FROM lth_pvr.order_events WHERE exchange_order_id = %s "
                      "AND kind IN ('cancel', 'FAILED_CANCEL_ORDER') ORDER BY event_id", (order_id,))


@pytest.mark.parametrize("fault", [
    {"rest_error": {"status": 503, "count": 2, "route": DELETE}},
    {"rest_error": {"status": 429, "count": 8, "route": DELETE, "retry_after": 0.01}},
    {"rest_error": {"status": "drop", "count": 1, "route": DELETE, "hold_s": 0.5}},
    {"refuse_cancels": 2},
], ids=["503", "429-past-retries", "no-answer", "FAILED_CANCEL_ORDER"])
def test_a_failed_cancel_is_sent_again_until_valr_confirms(sim, orders, start_worker, fault):
    orders.sql("UPDATE lth_pvr.settings SET value = 1 WHERE name = 'cancel_retry_seconds'")
    account = orders.account("")
    start_worker()
    order_id, intent = orders.insert(account)
    orders.wait_status(order_id, "submitted")

    sim.faults(**fault)
    assert orders.sql("SELECT lth_pvr.request_cancel(%s)", (order_id,))[0][0] == "requested"
    cancelled = orders.wait_status(order_id, "cancelled", timeout=30)
    assert sim.order_by_customer_id(str(intent))[0]["status"] == "Cancelled"
    assert cancelled["cancel_attempts"] >= 2 and cancelled["cancel_failures"] >= 1
    assert ("system" if "rest_error" in fault else "ws", "cancel_failed") in _cancel_events(orders, order_id)


def test_an_unconfirmed_cancel_raises_an_alert_until_valr_confirms(sim, orders, start_worker):
    orders.sql("UPDATE lth_pvr.settings SET value = 1 WHERE name = 'cancel_retry_seconds'")
    orders.sql("UPDATE lth_pvr.settings SET value = 0.05 WHERE name = 'cancel_unconfirmed_minutes'")
    account = orders.account("")
    start_worker()
    order_id, _ = orders.insert(account)
    orders.wait_status(order_id, "submitted")

    sim.faults(rest_error={"status": 503, "seconds": 60, "route": DELETE})
    orders.sql("SELECT lth_pvr.request_cancel(%s)", (order_id,))

    def alert() -> list[tuple]:
        return orders.sql("SELECT detail FROM lth_pvr.alerts() WHERE name = 'cancel_unconfirmed'")

    wait_for(lambda: alert(), timeout=20, what="the cancel_unconfirmed alert")
    assert str(order_id) in alert()[0][0]
    # Still only the DELETE fails: the order is open, the cancel is still being sent.
    assert orders.status(order_id) == "submitted"
    sim.faults(rest_error=None)
    orders.wait_status(order_id, "cancelled", timeout=30)
    assert alert() == []
