"""An account on each exchange reached through ccxt, end to end: real PostgreSQL with pg_cron, the
exchange's double over real sockets driven by unmodified ccxt, and a real worker process. Orders are
inserted with the same plain SQL as for VALR (only the pair is ccxt's symbol); the double's admin side
fills, and its ground truth says what the exchange holds. Parametrized over the three exchanges."""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal

import pytest

from tests.harness import API_KEY, API_SECRET
from tests.support.sql import insert_order
from worker.lab.demo_exchanges import Venue, start_venue
from worker.lab.worker_process import WorkerProcess, wait_for

pytestmark = pytest.mark.slow

EXCHANGES = ["binance", "kraken", "coinbase"]
QTY = Decimal("0.002")
WAIT_S = 20.0


@pytest.fixture(params=EXCHANGES)
def venue(request):
    """The exchange's double, at the lab's pace: the worker's ccxt throttle set fast, the double enforcing
    the exchange's own limit (demo_exchanges.LAB_RATE_LIMIT_MS, LAB_LIMITS)."""
    with contextlib.ExitStack() as stack:
        yield start_venue(stack, request.param, key_prefix="test", paced=True)


@pytest.fixture
def worker_for(worker_url, sim, tmp_path):
    started: list[WorkerProcess] = []

    def start(venue: Venue) -> WorkerProcess:
        worker = WorkerProcess(f"worker{len(started)}", worker_url, sim.base_url, API_KEY, API_SECRET, tmp_path,
                               extra=("--lease-ttl", "4", "--catch-up", "2", "--log-level", "debug"), env=venue.env)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def sql(conn, query: str, params: tuple = ()) -> list[tuple]:
    rows = conn.execute(query, params).fetchall()
    conn.commit()
    return rows


def account_on(conn, venue: Venue) -> uuid.UUID:
    return sql(conn, "INSERT INTO lth_pvr.exchange_accounts (exchange, label) VALUES (%s, %s) "
                     "RETURNING exchange_account_id", (venue.name, f"e2e {venue.name}"))[0][0]


def status(conn, order_id: uuid.UUID) -> tuple:
    return sql(conn, "SELECT status, filled_qty, customer_order_id::text, ext_order_id FROM lth_pvr.exchange_orders "
                     "WHERE exchange_order_id = %s", (order_id,))[0]


def until(predicate, what: str, worker: WorkerProcess):
    """wait_for, with the worker's log when it times out."""
    try:
        return wait_for(predicate, WAIT_S, what)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; worker log:\n{worker.log()[-8000:]}") from None


def wait_status(conn, order_id: uuid.UUID, wanted: str, worker: WorkerProcess) -> tuple:
    return until(lambda: (row := status(conn, order_id))[0] == wanted and row, f"status {wanted}", worker)


def orders_of(venue: Venue, client_id: str) -> list:
    ex = venue.double.server.exchange
    return venue.double.call(lambda: [o for o in ex.orders.values() if o.client_id == client_id])


def fill(venue: Venue, client_id: str, amount: Decimal) -> None:
    server = venue.double.server
    venue.double.call(lambda: server.exchange.fill(server.exchange.order(server.account_of(venue.key),
                                                                        client_id=client_id), amount))


def fills(conn, order_id: uuid.UUID) -> list[tuple]:
    return sql(conn, "SELECT trade_id, qty FROM lth_pvr.order_fills WHERE exchange_order_id = %s ORDER BY qty",
               (order_id,))


def test_an_order_is_placed_once_watched_and_filled_in_two_fills(venue, postgresql, worker_for):
    account = account_on(postgresql, venue)
    symbol = venue.symbol()
    market = venue.double.server.exchange.markets[symbol]
    order_id = insert_order(postgresql, account, pair=symbol, price=market.bid, qty=QTY)
    postgresql.commit()
    worker = worker_for(venue)
    _, _, client_id, ext = wait_status(postgresql, order_id, "submitted", worker)
    until(lambda: sql(postgresql, "SELECT ws_monitored_at IS NOT NULL FROM lth_pvr.exchange_orders "
                                  "WHERE exchange_order_id = %s", (order_id,))[0][0], "watched", worker)
    placed = orders_of(venue, client_id)
    assert [o.id for o in placed] == [ext]  # once, under our client order id
    fill(venue, client_id, QTY / 2)
    until(lambda: sum(q for _, q in fills(postgresql, order_id)) == QTY / 2, "the partial fill", worker)
    fill(venue, client_id, QTY / 2)
    wait_status(postgresql, order_id, "filled", worker)
    until(lambda: status(postgresql, order_id)[1] == QTY, "both fills recorded", worker)
    assert len(fills(postgresql, order_id)) == 2  # each fill once
    # heard over ccxt's socket (Coinbase's stream carries orders only: its fills are then read over REST)
    assert sql(postgresql, "SELECT sum(events) FROM lth_pvr.ws_sessions WHERE exchange_account_id = %s",
               (account,))[0][0] >= 2


def test_a_fallback_cancels_and_buys_the_unexecuted_quantity_at_market_once(venue, postgresql, worker_for):
    account = account_on(postgresql, venue)
    symbol = venue.symbol()
    market = venue.double.server.exchange.markets[symbol]
    below = (market.bid * Decimal("0.95")).quantize(market.tick)
    intent = uuid.uuid4()
    order_id = insert_order(postgresql, account, intent_id=intent, pair=symbol, price=below, qty=QTY,
                            fallback_after="1 second")
    postgresql.commit()
    worker = worker_for(venue)
    _, _, client_id, _ = wait_status(postgresql, order_id, "submitted", worker)
    fill(venue, client_id, QTY / 4)
    outcome = until(lambda: sql(postgresql, "SELECT fallback_outcome FROM lth_pvr.exchange_orders "
                                            "WHERE exchange_order_id = %s", (order_id,))[0][0],
                    "the fallback's outcome", worker)
    assert outcome == "replaced"
    try:
        until(lambda: sql(postgresql, "SELECT count(*) FROM lth_pvr.exchange_orders WHERE intent_id = %s "
                                      "AND order_type = 'market' AND status = 'filled'", (intent,))[0][0] == 1,
              "the market replacement filled", worker)
    except AssertionError as exc:
        events = sql(postgresql, "SELECT e.kind, e.outcome, e.detail FROM lth_pvr.order_events e JOIN "
                                 "lth_pvr.exchange_orders o USING (exchange_order_id) WHERE o.intent_id = %s "
                                 "ORDER BY e.event_id", (intent,))
        raise AssertionError(f"{events}\n{exc}") from None
    def rows() -> list[tuple]:
        return sql(postgresql, "SELECT order_type, status, qty, filled_qty, customer_order_id::text "
                               "FROM lth_pvr.exchange_orders WHERE intent_id = %s ORDER BY created_at", (intent,))
    # the fills may be read after the final status (Coinbase: the order's trades over REST)
    until(lambda: sum(r[3] for r in rows()) == QTY, "the intent's fills", worker)
    rows = rows()
    assert [(r[0], r[1]) for r in rows] == [("limit", "cancelled"), ("market", "filled")]
    assert rows[1][2] == QTY - QTY / 4  # the unexecuted quantity, not more
    assert sum(r[3] for r in rows) == QTY
    assert len(orders_of(venue, rows[1][4])) == 1
    # its end heard at once — in create_order's answer (Binance answers a market order filled) or over
    # ccxt's socket — not found later by the market order's REST lookup ('poll'): a watch is always
    # waiting, so an event arriving while the previous read was being recorded is not parked
    heard = sql(postgresql, "SELECT e.source FROM lth_pvr.order_events e JOIN lth_pvr.exchange_orders o "
                            "USING (exchange_order_id) WHERE o.customer_order_id = %s::uuid "
                            "AND e.kind = 'order_status' AND e.new_status = 'filled' AND e.outcome = 'applied'",
                (rows[1][4],))
    assert len(heard) == 1 and heard[0][0] in ("ws", "placement"), heard


@pytest.fixture
def binance():
    with contextlib.ExitStack() as stack:
        yield start_venue(stack, "binance", key_prefix="test", paced=True)


def test_the_fills_a_placement_answer_carries_are_recorded_from_it(binance, postgresql, worker_for):
    """Binance answers a market order filled, its fills in the answer (FULL). ccxt parses them without
    their order's id; record_placement_answer gives them the answer's, so they are recorded from the
    answer itself (source `placement`), not left to the socket's trade event — here a silent socket —
    which is lost when the account's last open order finishes and its lease and socket go."""
    account = account_on(postgresql, binance)
    symbol = binance.symbol()
    market = binance.double.server.exchange.markets[symbol]
    resting = insert_order(postgresql, account, pair=symbol, price=(market.bid * Decimal("0.9")).quantize(market.tick),
                           qty=QTY)
    postgresql.commit()
    worker = worker_for(binance)
    wait_status(postgresql, resting, "submitted", worker)  # the session is up, and stays: an order rests
    binance.double.server.faults["silent"] = True           # from now on the socket says nothing
    bought = insert_order(postgresql, account, pair=symbol, qty=QTY, order_type="market")
    postgresql.commit()
    wait_status(postgresql, bought, "filled", worker)
    fills = until(lambda: sql(postgresql, "SELECT qty, source FROM lth_pvr.order_fills WHERE exchange_order_id = %s",
                              (bought,)) or None, "the market order's fills", worker)
    assert sum(qty for qty, _ in fills) == QTY
    assert {source for _, source in fills} == {"placement"}


def test_a_lost_placement_answer_is_looked_up_by_client_id_not_placed_twice(venue, postgresql, worker_for):
    account = account_on(postgresql, venue)
    symbol = venue.symbol()
    market = venue.double.server.exchange.markets[symbol]
    venue.double.server.faults["lose_placement_answers"] = 1
    order_id = insert_order(postgresql, account, pair=symbol, price=market.bid, qty=QTY)
    postgresql.commit()
    worker = worker_for(venue)
    _, _, client_id, ext = wait_status(postgresql, order_id, "submitted", worker)
    assert [o.id for o in orders_of(venue, client_id)] == [ext]
    # The socket may say "submitted" before the worker has finished with the lost answer: wait for its line.
    until(lambda: "placement answer lost" in worker.log(), "the lost answer said", worker)
    assert [o.id for o in orders_of(venue, client_id)] == [ext]  # and still placed once


def test_a_missing_credential_refuses_the_start_in_one_line_naming_the_account(postgresql, worker_url, sim, tmp_path):
    account = sql(postgresql, "INSERT INTO lth_pvr.exchange_accounts (exchange, credential_ref, label) "
                              "VALUES ('binance', 'desk_b', 'desk B') RETURNING exchange_account_id")[0][0]
    worker = WorkerProcess("refused", worker_url, sim.base_url, API_KEY, API_SECRET, tmp_path,
                           env={"DESK_B_API_KEY": "k", "DESK_B_API_SECRET": ""})
    worker.start()
    assert worker.proc.wait(30) == 2
    said = [line for line in worker.log().strip().splitlines() if " INFO " not in line and " DEBUG " not in line]
    assert said == [f"error: DESK_B_API_SECRET: required in the environment (never a flag: flags show in ps); "
                    f"account desk B ({account}, binance) uses it"]


def test_an_account_added_later_without_its_credential_is_left_alone(venue, postgresql, worker_for):
    worker = worker_for(venue)
    until(lambda: "worker started" in worker.log(), "the worker started", worker)
    account = sql(postgresql, "INSERT INTO lth_pvr.exchange_accounts (exchange, credential_ref, label) "
                              "VALUES (%s, 'nobody', 'no key') RETURNING exchange_account_id", (venue.name,))[0][0]
    order_id = insert_order(postgresql, account, pair=venue.symbol(), price=Decimal("1000"), qty=QTY)
    postgresql.commit()
    until(lambda: "account left alone: its credential is missing" in worker.log(), "the ERROR line", worker)
    line = next(x for x in worker.log().splitlines() if "account left alone" in x)
    assert f"no key ({account}, {venue.name})" in line and "NOBODY_API_KEY" in line
    assert worker.alive and status(postgresql, order_id)[0] == "pending"  # never claimed
    assert orders_of(venue, status(postgresql, order_id)[2]) == []


def test_a_lost_socket_is_reopened_and_what_happened_meanwhile_is_recorded(venue, postgresql, worker_for):
    import httpx

    account = account_on(postgresql, venue)
    symbol = venue.symbol()
    order_id = insert_order(postgresql, account, pair=symbol, qty=QTY,
                            price=venue.double.server.exchange.markets[symbol].bid)
    postgresql.commit()
    worker = worker_for(venue)
    _, _, client_id, _ = wait_status(postgresql, order_id, "submitted", worker)
    httpx.post(f"{venue.double.base_url}/_double/faults", json={"close_sockets": 1}).raise_for_status()
    fill(venue, client_id, QTY)  # while the session is down, or as it comes back
    wait_status(postgresql, order_id, "filled", worker)
    until(lambda: status(postgresql, order_id)[1] == QTY, "the fill recorded", worker)
    sessions = sql(postgresql, "SELECT count(*), count(*) FILTER (WHERE close_reason LIKE 'connection lost%%') "
                               "FROM lth_pvr.ws_sessions WHERE exchange_account_id = %s", (account,))[0]
    assert sessions[0] >= 2 and sessions[1] >= 1  # the lost socket recorded, a new one opened


def test_the_price_stream_fires_a_price_fallback(venue, postgresql, worker_for):
    """prices_to_watch(exchange) → ccxt's watch_ticker → record_exchange_prices: a move against the order
    cancels it and buys the rest at market."""
    account = account_on(postgresql, venue)
    symbol = venue.symbol()
    market = venue.double.server.exchange.markets[symbol]
    bid = market.bid
    order_id = insert_order(postgresql, account, pair=symbol, price=bid, qty=QTY, fallback_price_move="0.01",
                            fallback_price_confirm_ms=0)
    postgresql.commit()
    worker = worker_for(venue)
    wait_status(postgresql, order_id, "submitted", worker)
    until(lambda: sql(postgresql, "SELECT count(*) FROM lth_pvr.market_prices WHERE exchange = %s AND pair = %s",
                      (venue.name, symbol))[0][0], "a price from the stream", worker)
    ticks = iter(range(1, 10_000))

    def moved() -> bool:  # 3 % above the BUY, a new tick each poll until SQL says the trigger fired
        up = (bid * Decimal("1.03")).quantize(market.tick) + market.tick * next(ticks)
        venue.double.call(lambda: venue.double.server.exchange.set_market(symbol, bid=up - market.tick, ask=up))
        return sql(postgresql, "SELECT fallback_reason FROM lth_pvr.exchange_orders WHERE exchange_order_id = %s",
                   (order_id,))[0][0] == "price"
    until(moved, "the price fallback fired", worker)
    wait_status(postgresql, order_id, "cancelled", worker)
    assert sql(postgresql, "SELECT DISTINCT source FROM lth_pvr.market_prices WHERE exchange = %s AND pair = %s",
               (venue.name, symbol)) == [("ws",)]


def test_a_key_the_exchange_refuses_stops_the_start_in_one_line(venue, postgresql, worker_url, sim, tmp_path):
    account = account_on(postgresql, venue)
    env = {**venue.env, f"{venue.name.upper()}_API_KEY": "not-a-key-it-knows"}
    worker = WorkerProcess("refused", worker_url, sim.base_url, API_KEY, API_SECRET, tmp_path, env=env)
    worker.start()
    assert worker.proc.wait(60) == 2, worker.log()[-3000:]
    said = [line for line in worker.log().strip().splitlines()
            if " INFO " not in line and " DEBUG " not in line and " WARNING " not in line]
    ref = venue.name.upper()
    assert len(said) == 1 and said[0].startswith(f"error: {ref}_API_KEY: {venue.name} refused the key ("), said
    assert said[0].endswith(f"check {ref}_API_KEY and {ref}_API_SECRET; account e2e {venue.name} ({account}, "
                            f"{venue.name}) uses it")
    assert venue.double.server.keys[venue.key] not in worker.log()


def test_an_account_added_while_the_worker_runs_is_routed_to_its_exchange(venue, postgresql, worker_for):
    worker = worker_for(venue)
    until(lambda: "worker started" in worker.log(), "the worker started", worker)
    account = account_on(postgresql, venue)
    symbol = venue.symbol()
    order_id = insert_order(postgresql, account, pair=symbol, qty=QTY,
                            price=venue.double.server.exchange.markets[symbol].bid)
    postgresql.commit()
    _, _, client_id, ext = wait_status(postgresql, order_id, "submitted", worker)
    assert [o.id for o in orders_of(venue, client_id)] == [ext]
    until(lambda: sql(postgresql, "SELECT count(*) FROM lth_pvr.pairs WHERE exchange = %s", (venue.name,))[0][0],
          "its exchange's pair rules", worker)
