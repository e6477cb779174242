"""The ledger of an account on each exchange reached through ccxt, end to end: real PostgreSQL with pg_cron,
the exchange's double over real sockets driven by unmodified ccxt, a real worker process. A deposit made
on the double's admin side reaches v_deposits and a LISTENer on lth_pvr_deposit after a person asks for
the account's sync (request_ledger_sync), and v_balances shows what the double holds; where ccxt has
watch_balance, a session's socket brings a deposit's balance without anyone asking."""

from __future__ import annotations

import json
from decimal import Decimal

import ccxt.pro
import pytest

from tests.support.sql import insert_order, listener, received
from tests.test_exchanges_e2e import EXCHANGES, account_on, sql, until, venue, wait_status, worker_for  # noqa: F401 (fixtures)

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


# The exchanges whose balance ccxt streams (Coinbase's it reads over REST only: the first test).
STREAMED = [name for name in EXCHANGES if getattr(ccxt.pro, name)().has.get("watchBalance")]


@pytest.mark.parametrize("venue", STREAMED, indirect=True)
def test_a_sessions_watch_balance_records_a_deposit_live(venue, postgresql, worker_for):
    account = account_on(postgresql, venue)
    symbol = venue.symbol()
    market = venue.double.server.exchange.markets[symbol]
    order_id = insert_order(postgresql, account, pair=symbol, price=market.bid / 2, qty=Decimal("0.001"))
    postgresql.commit()
    worker = worker_for(venue)
    wait_status(postgresql, order_id, "submitted", worker)  # a resting order: its account's session is open
    # A sync asked and done, none asked or running: only the socket can bring the deposit's balance now.
    sql(postgresql, "SELECT lth_pvr.request_ledger_sync(%s)", (account,))
    until(lambda: sql(postgresql, "SELECT 1 FROM lth_pvr.ledger_cursors WHERE exchange_account_id = %s AND synced_at "
                                  "IS NOT NULL AND sync_requested_at IS NULL AND sync_claimed_at IS NULL", (account,)),
          "the asked sync", worker)
    server = venue.double.server
    owner = server.account_of(venue.key)
    venue.double.call(lambda: server.exchange.deposit(owner, "BTC", AMOUNT))
    held = venue.double.call(lambda: server.exchange.balance(owner, "BTC").total)
    # Binance's stream carries free and used: recorded as read (ws). Kraken's carries totals only: SQL asks
    # for the REST read (fetch_balance) that says what is free.
    source = "rest" if venue.name == "kraken" else "ws"
    until(lambda: sql(postgresql, "SELECT total, source FROM lth_pvr.v_balances WHERE exchange_account_id = %s "
                                  "AND currency = 'BTC'", (account,)) == [(held, source)],
          f"the balance after the socket said it ({held} BTC)", worker)
    assert sql(postgresql, "SELECT total, source FROM lth_pvr.v_balances WHERE exchange_account_id = %s "
                           "AND currency = 'BTC'", (account,)) == [(held, source)]
