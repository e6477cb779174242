"""The ledger of an account on each exchange reached through ccxt, end to end: real PostgreSQL with pg_cron,
the exchange's double over real sockets driven by unmodified ccxt, a real worker process. A deposit made
on the double's admin side reaches v_deposits and a LISTENer on lth_pvr_deposit after a person asks for
the account's sync (request_ledger_sync), and v_balances shows what the double holds."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.support.sql import listener, received
from tests.test_exchanges_e2e import account_on, sql, until, venue, worker_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

AMOUNT = Decimal("0.125")


def test_a_deposit_reaches_v_deposits_and_its_listener_and_the_balance_v_balances(venue, postgresql, db_url,
                                                                                  worker_for):
    account = account_on(postgresql, venue)
    watch = listener(db_url, "lth_pvr_deposit")
    server = venue.double.server
    owner = server.account_of(venue.key)
    venue.double.call(lambda: server.exchange.deposit(owner, "BTC", AMOUNT))
    worker = worker_for(venue)
    sql(postgresql, "SELECT lth_pvr.request_ledger_sync(%s)", (account,))
    deposits = until(lambda: sql(postgresql, "SELECT amount, currency, kind, exchange FROM lth_pvr.v_deposits "
                                             "WHERE exchange_account_id = %s", (account,)), "the deposit", worker)
    assert deposits == [(AMOUNT, "BTC", "crypto", venue.name)]
    [(_, payload)] = received(watch, expect=1)
    assert json.loads(payload)["exchange_account_id"] == str(account)
    held = venue.double.call(lambda: server.exchange.balance(owner, "BTC").total)
    until(lambda: sql(postgresql, "SELECT total FROM lth_pvr.v_balances WHERE exchange_account_id = %s "
                                  "AND currency = 'BTC'", (account,)) == [(held,)], "the balance", worker)
    # Asked again: the same deposit is not a second one, nor announced again.
    sql(postgresql, "SELECT lth_pvr.request_ledger_sync(%s)", (account,))
    until(lambda: sql(postgresql, "SELECT sync_requested_at IS NULL AND synced_at IS NOT NULL "
                                  "FROM lth_pvr.ledger_cursors WHERE exchange_account_id = %s", (account,))[0][0],
          "the second sync", worker)
    assert received(watch) == []
    assert len(sql(postgresql, "SELECT 1 FROM lth_pvr.v_deposits WHERE exchange_account_id = %s", (account,))) == 1
