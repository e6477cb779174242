"""The ledger's primary-key reads across subaccounts, end to end (issue 23): the worker, the simulator
over real sockets, the embedded database. 450 transactions of three subaccounts made while the worker
was down are read back by one window (paged) and one balances call, each once, every cursor at its
account's newest; a key VALR refuses these routes is tried once, then per-account reads."""

from __future__ import annotations

from tests.harness import wait_for
from worker.valr.rest import parse_time

SUBS = ("7001", "7002", "7003")
ACROSS = "GET /v1/account/transactionhistory/subaccounts"
PER_ACCOUNT = "GET /v1/account/transactionhistory"


def first_syncs(orders, start_worker):
    """The accounts, each synced once per account (no held_through before that), the worker stopped."""
    accounts = {sub: orders.account(sub) for sub in SUBS}
    orders.settle(ledger_window_lag_seconds=0)
    worker = start_worker()
    wait_for(lambda: orders.sql("SELECT count(*) FROM lth_pvr.ledger_cursors WHERE held_through IS NOT NULL "
                                "AND rescanned_at IS NOT NULL")[0][0] == len(SUBS), timeout=30, what="first syncs")
    return accounts, worker


def rest_calls(sim) -> dict:
    return sim.counters()["rest"]


def test_450_transactions_made_while_the_worker_was_down_are_read_back_by_one_window(sim, orders, start_worker):
    accounts, worker = first_syncs(orders, start_worker)
    worker.stop()
    sim._post("deposit", {"subaccountId": "7001", "currency": "ZAR", "amount": "100", "count": 150})
    sim._post("deposit", {"subaccountId": "7002", "currency": "BTC", "amount": "1", "count": 100, "sameTime": True})
    for _ in range(50):  # between two of our subaccounts: a debit in one, a credit in the other
        sim._post("transfer", {"fromId": "7001", "toId": "7003", "currencyCode": "ZAR", "amount": "10"})
    for _ in range(100):
        sim._post("withdraw", {"subaccountId": "7002", "currency": "BTC", "amount": "0.5", "fee": "0.0001"})
    sim.http.post("/_sim/counters/reset").raise_for_status()
    orders.settle(ledger_sync_minutes=0)  # due by time at once (the hourly schedule, without the hour)
    start_worker()
    count = "SELECT count(*), count(DISTINCT transaction_id) FROM lth_pvr.account_transactions"
    wait_for(lambda: orders.sql(count)[0][0] >= 450, timeout=30, what="450 transactions read back")
    wait_for(lambda: "GET /v1/account/balances/all" in rest_calls(sim), timeout=30, what="the balances of all")
    assert orders.sql(count) == [(450, 450)]
    calls = rest_calls(sim)
    assert calls[ACROSS] >= 3 and PER_ACCOUNT not in calls, calls
    assert calls["GET /v1/account/balances"] == 1, calls  # the start's credential check: none per account
    for sub, account in accounts.items():
        newest = sim.http.get("/_sim/ledger", params={"subaccountId": sub}).json()["transactions"][-1]
        [(held, held_at)] = orders.sql("SELECT newest_transaction_id, newest_event_at FROM lth_pvr.ledger_cursors "
                                       "WHERE exchange_account_id = %s", (account,))
        # Transactions of one millisecond are ordered only by VALR's pages: the cursor names one of the
        # newest millisecond's (a catch-up reading back to it reads the page that holds them all).
        same_ms = [t["id"] for t in sim.http.get("/_sim/ledger", params={"subaccountId": sub}).json()["transactions"]
                   if t["eventAt"] == newest["eventAt"]]
        assert held_at == parse_time(newest["eventAt"]) and held in same_ms, sub
    moves = orders.sql("SELECT a.subaccount_id, count(*) FILTER (WHERE t.debit_value > 0), "
                       "count(*) FILTER (WHERE t.credit_value > 0) FROM lth_pvr.account_transactions t "
                       "JOIN lth_pvr.exchange_accounts a USING (exchange_account_id) "
                       "WHERE t.transaction_type = 'INTERNAL_TRANSFER' GROUP BY 1 ORDER BY 1")
    assert moves == [("7001", 50, 0), ("7003", 0, 50)]
    assert orders.sql("SELECT kind, count(*) FROM lth_pvr.v_deposits GROUP BY 1 ORDER BY 1") == \
        [("fiat", 250), ("internal", 50)]  # 100 withdrawals and 50 transfers out are no deposits


def test_a_key_refused_across_subaccounts_is_tried_once_then_read_per_account(sim, orders, start_worker):
    sim.faults(key_not_primary=True)
    accounts, _ = first_syncs(orders, start_worker)
    orders.settle(ledger_sync_minutes=0)
    sim._post("deposit", {"subaccountId": "7002", "currency": "ZAR", "amount": "5"})
    orders.sql("SELECT lth_pvr.ledger_sync_tick()")
    wait_for(lambda: orders.sql("SELECT count(*) FROM lth_pvr.ledger_across_refusals")[0][0] == 1,
             timeout=30, what="the refusal kept")
    wait_for(lambda: orders.sql("SELECT count(*) FROM lth_pvr.v_deposits")[0][0] == 1, timeout=30,
             what="the deposit read per account")
    sim._post("deposit", {"subaccountId": "7003", "currency": "ZAR", "amount": "6"})
    orders.sql("SELECT lth_pvr.ledger_sync_tick()")
    wait_for(lambda: orders.sql("SELECT count(*) FROM lth_pvr.v_deposits")[0][0] == 2, timeout=30,
             what="the next deposit read per account")
    assert rest_calls(sim)[ACROSS] == 1
