"""`valr-monitor run --max-session 0` keeps every account's socket open, open orders or not (issue 23):
a deposit reaches account_transactions and NOTIFY lth_pvr_deposit over the socket, no REST history
read. The default opens no socket without orders: the deposit arrives by the REST catch-up."""

from __future__ import annotations

import time

from tests.harness import wait_for
from tests.support.sql import listener

HISTORY = "GET /v1/account/transactionhistory"


def deposit_notified(sim, orders, db_url, sub: str, ask_rest: bool) -> tuple[float, str]:
    """A deposit at the simulator → its NOTIFY lth_pvr_deposit: (seconds, the row's source)."""
    watch = listener(db_url, "lth_pvr_deposit")
    made = time.monotonic()
    tx_id = sim._post("deposit", {"subaccountId": sub, "currency": "ZAR", "amount": "25"})["transactions"][0]
    if ask_rest:
        orders.sql("SELECT lth_pvr.request_ledger_sync()")
    heard = next(n for n in watch.notifies(timeout=20) if tx_id in n.payload)
    assert heard, "no NOTIFY lth_pvr_deposit"
    elapsed = time.monotonic() - made
    watch.close()
    [(source,)] = orders.sql("SELECT source FROM lth_pvr.account_transactions WHERE transaction_id = %s", (tx_id,))
    return elapsed, source


def test_max_session_0_keeps_a_socket_without_orders_and_deposits_arrive_on_it(sim, orders, db_url, start_worker):
    account = orders.account("8001")
    # A long lease: under a loaded machine the harness's 4 s lease may miss a renewal and close the socket
    # (a reconnect is then caught up over REST, which is not what this test is about).
    start_worker("--max-session", "0", "--lease-ttl", "30")
    wait_for(lambda: orders.sql("SELECT count(*) FROM lth_pvr.ws_sessions WHERE exchange_account_id = %s "
                                "AND authenticated_at IS NOT NULL AND closed_at IS NULL", (account,))[0][0] == 1,
             timeout=30, what="a socket for an account without orders")
    wait_for(lambda: orders.sql("SELECT synced_at IS NOT NULL AND sync_requested_at IS NULL FROM lth_pvr.ledger_cursors "
                                "WHERE exchange_account_id = %s", (account,)) == [(True,)],
             timeout=30, what="the catch-up after connect")
    sim.http.post("/_sim/counters/reset").raise_for_status()
    elapsed, source = deposit_notified(sim, orders, db_url, "8001", ask_rest=False)
    assert source == "ws" and HISTORY not in sim.counters()["rest"]
    print(f"--max-session 0: deposit → NOTIFY {elapsed * 1000:.0f} ms")


def test_by_default_no_socket_without_orders_and_the_deposit_arrives_by_the_rest_catch_up(sim, orders, db_url,
                                                                                          start_worker):
    account = orders.account("8002")
    start_worker()
    wait_for(lambda: orders.sql("SELECT synced_at IS NOT NULL FROM lth_pvr.ledger_cursors "
                                "WHERE exchange_account_id = %s", (account,)) == [(True,)],
             timeout=30, what="the first sync")
    elapsed, source = deposit_notified(sim, orders, db_url, "8002", ask_rest=True)
    assert source == "rest" and orders.sql("SELECT count(*) FROM lth_pvr.ws_sessions") == [(0,)]
    print(f"default: deposit → NOTIFY {elapsed * 1000:.0f} ms (REST catch-up asked at once)")


def test_a_resting_buy_order_reserves_funds_and_is_no_withdrawal(sim, orders, start_worker):
    sim.faults(reservation_updates=True)  # BALANCE_UPDATE when the resting order reserves its funds
    account = orders.account("")
    start_worker()
    wait_for(lambda: orders.sql("SELECT total FROM lth_pvr.balances WHERE currency = 'ZAR'"), timeout=30,
             what="the first balances")
    [(opening,)] = orders.sql("SELECT total FROM lth_pvr.balances WHERE currency = 'ZAR'")
    order_id, _ = orders.insert(account, qty="0.0001", price="1200000")
    orders.wait_status(order_id, "submitted")
    wait_for(lambda: orders.sql("SELECT reserved > 0 FROM lth_pvr.balances WHERE currency = 'ZAR'") == [(True,)],
             timeout=30, what="the reservation recorded")
    assert orders.sql("SELECT total FROM lth_pvr.balances WHERE currency = 'ZAR'") == [(opening,)]
    assert orders.sql("SELECT count(*) FROM lth_pvr.account_transactions") == [(0,)]  # no debit, no withdrawal
