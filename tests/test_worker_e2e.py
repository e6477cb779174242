"""The worker end to end: real PostgreSQL + pg_cron, the simulator over real sockets, worker processes.

Orders go in with SQL, as a person would; the simulator is told when to fill; the database is read
back. Nothing is mocked.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest

from tests.harness import API_KEY, API_SECRET, compare_with_truth, wait_for

pytestmark = pytest.mark.slow


def test_order_inserted_with_sql_is_placed_watched_and_filled_over_the_websocket(sim, orders, start_worker):
    account = orders.account("")
    worker = start_worker()
    order_id, intent = orders.insert(account)

    placed = orders.wait_status(order_id, "submitted")
    assert placed["ext_order_id"] and placed["ws_monitored_at"] is not None
    # The socket was authenticated before the order was placed.
    assert placed["ws_monitored_at"] <= placed["submitted_at"]

    sim.fill(str(intent))
    filled = orders.wait_status(order_id, "filled")
    assert filled["requires_polling"] is False
    assert filled["filled_qty"] == Decimal("0.0001")
    assert len(orders.fills(order_id)) == 1
    assert sim.status_lookups() == 0, sim.counters()["rest"]
    assert "order placed" in worker.log()
    # The session closed itself once nothing was open: a clean close, not a connection failure.
    wait_for(lambda: orders.sql("SELECT 1 FROM lth_pvr.ws_sessions WHERE closed_at IS NOT NULL"),
             what="the session to close")
    assert orders.sql("SELECT close_reason, closed_with_error FROM lth_pvr.ws_sessions") == [("no_open_orders", False)]


def test_partial_fills_keep_submitted_and_sum(sim, orders, start_worker):
    account = orders.account("")
    start_worker()
    order_id, intent = orders.insert(account, qty="0.0003")
    orders.wait_status(order_id, "submitted")

    sim.fill(str(intent), "0.0001")
    wait_for(lambda: len(orders.fills(order_id)) == 1, what="first fill")
    assert orders.status(order_id) == "submitted"
    sim.fill(str(intent), "0.0002")
    filled = orders.wait_status(order_id, "filled")
    assert filled["filled_qty"] == Decimal("0.0003")
    assert [q for _, q in orders.fills(order_id)] == [Decimal("0.0001"), Decimal("0.0002")]


def test_cancel_from_sql_moves_only_on_valrs_word(sim, orders, start_worker):
    account = orders.account("")
    start_worker()
    order_id, intent = orders.insert(account)
    orders.wait_status(order_id, "submitted")

    assert orders.sql("SELECT lth_pvr.request_cancel(%s)", (order_id,))[0][0] == "requested"
    cancelled = orders.wait_status(order_id, "cancelled")
    assert cancelled["requires_polling"] is False
    assert sim.order_by_customer_id(str(intent))[0]["status"] == "Cancelled"


def test_duplicate_customer_order_id_fails_at_placement(sim, orders, start_worker):
    account = orders.account("")
    intent = uuid.uuid4()
    # Another system already holds an open order with this customerOrderId on VALR.
    import asyncio

    from worker.valr import Credentials, ValrClient

    async def place_elsewhere() -> None:
        async with ValrClient(sim.base_url, Credentials(API_KEY, API_SECRET)) as client:
            await client.place_limit_order("", pair="BTCZAR", side="BUY", quantity=Decimal("0.0001"),
                                           price=Decimal("1100000"), customer_order_id=str(intent))

    asyncio.run(place_elsewhere())
    start_worker()
    order_id, _ = orders.insert(account, intent=intent)
    failed = orders.wait_status(order_id, "failed")
    assert failed["failed_reason"]
    assert failed["requires_polling"] is False


def test_lost_placement_answer_is_looked_up_and_never_placed_twice(sim, orders, start_worker):
    account = orders.account("")
    sim.faults(lose_placement_answers=1)
    worker = start_worker()
    order_id, intent = orders.insert(account)

    resolved = orders.wait_status(order_id, "submitted", timeout=40)
    assert resolved["ext_order_id"] == sim.order_by_customer_id(str(intent))[0]["orderId"]
    assert len(sim.order_by_customer_id(str(intent))) == 1
    assert sim.counters()["rest"].get("POST /v1/orders/limit") == 1
    assert "placement answer lost" in worker.log()


def test_silent_stream_and_dropped_sockets_are_covered_by_the_safety_net(sim, orders, start_worker):
    account = orders.account("")
    start_worker()
    ids = [orders.insert(account) for _ in range(3)]
    for order_id, _ in ids:
        orders.wait_status(order_id, "submitted")

    sim.faults(silent=True)
    for _, intent in ids[:2]:
        sim.fill(str(intent))
    sim.cancel(str(ids[2][1]))
    time.sleep(0.5)
    assert {orders.status(o) for o, _ in ids} == {"submitted"}  # nothing arrived

    # The cron job's SQL, invoked now rather than waiting 10 minutes: the three silent orders, never
    # polled, are marked due (its NOTIFY has the worker poll them); then the sockets drop as well.
    assert orders.sql("SELECT lth_pvr.safety_net_tick()")[0][0] == 3
    sim.faults(close_sockets=True)
    for order_id, _ in ids[:2]:
        orders.wait_status(order_id, "filled", timeout=30)
    orders.wait_status(ids[2][0], "cancelled", timeout=30)
    assert compare_with_truth(orders, sim.truth()) == []


def test_dropped_duplicated_and_reordered_events_end_equal_to_ground_truth(sim, orders, start_worker):
    accounts = [orders.account(f"{100 + i}") for i in range(3)]
    start_worker()
    placed = [orders.insert(a, qty="0.0004") for a in accounts for _ in range(3)]
    for order_id, _ in placed:
        orders.wait_status(order_id, "submitted", timeout=30)

    sim.faults(drop_fraction=0.3, duplicate_fraction=0.3, reorder=True)
    for _, intent in placed:
        sim.fill(str(intent), "0.0001")
        sim.fill(str(intent), "0.0003")
    time.sleep(1.0)
    sim.faults(reset=True)
    # The next cron tick, 10 minutes on: orders polled in the last 2 minutes are skipped at "now".
    orders.sql("SELECT lth_pvr.safety_net_tick(now() + interval '10 minutes')")
    wait_for(lambda: compare_with_truth(orders, sim.truth()) == [], timeout=40,
             what=f"database to equal ground truth: {compare_with_truth(orders, sim.truth())}")


def test_listen_connection_terminated_worker_recovers_and_misses_no_order(sim, orders, start_worker, embedded_pg):
    account = orders.account("")
    worker = start_worker()
    first, _ = orders.insert(account)
    orders.wait_status(first, "submitted")

    with embedded_pg.connect(autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'valr-monitor-listener'"
        ).fetchone()[0]
    assert killed == 1
    second, _ = orders.insert(account)
    orders.wait_status(second, "submitted", timeout=30)
    assert "LISTEN connection lost" in worker.log()


def test_two_workers_share_subaccounts_and_one_killed_is_taken_over(sim, orders, start_worker):
    accounts = [orders.account(f"{200 + i}") for i in range(4)]
    w1 = start_worker()
    start_worker()
    placed = [orders.insert(a) for a in accounts for _ in range(2)]
    for order_id, _ in placed:
        orders.wait_status(order_id, "submitted", timeout=30)

    # No order placed twice; each subaccount watched by one worker at a time.
    truth = sim.truth()
    assert len(truth["orders"]) == len(placed)
    open_sessions = orders.sql(
        """SELECT exchange_account_id, count(*) FROM lth_pvr.ws_sessions
            WHERE closed_at IS NULL AND authenticated_at IS NOT NULL GROUP BY 1""")
    assert all(n == 1 for _, n in open_sessions)

    w1.kill()
    for _, intent in placed:
        sim.fill(str(intent))
    for order_id, _ in placed:
        orders.wait_status(order_id, "filled", timeout=40)
    assert compare_with_truth(orders, sim.truth()) == []
    assert len(sim.truth()["orders"]) == len(placed)


def test_sigterm_stops_cleanly_and_releases_leases(sim, orders, start_worker):
    account = orders.account("")
    worker = start_worker()
    order_id, _ = orders.insert(account)
    orders.wait_status(order_id, "submitted")
    assert worker.stop() == 0
    assert orders.sql("SELECT count(*) FROM lth_pvr.subaccount_leases")[0][0] == 0
    reasons = [r[0] for r in orders.sql("SELECT close_reason FROM lth_pvr.ws_sessions")]
    assert "shutdown" in reasons


def test_missing_setting_fails_at_start_with_one_clear_line(db_url):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "worker", "run", "--database-url", db_url],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=30)
    assert proc.returncode == 2
    # The accounts' credentials are resolved once the database says which exist (a Binance-only
    # database needs no VALR key): the start's INFO lines come first; the refusal is the one other line.
    said = [line for line in proc.stderr.strip().splitlines() if " INFO " not in line]
    assert said == ["error: VALR_API_KEY: required in the environment (never a flag: flags show in ps)"]


def test_order_placed_elsewhere_and_inserted_as_submitted_gets_one_reconciliation(sim, orders, start_worker):
    import asyncio

    from worker.valr import Credentials, ValrClient

    intent = uuid.uuid4()

    async def place_elsewhere() -> str:
        async with ValrClient(sim.base_url, Credentials(API_KEY, API_SECRET)) as client:
            placed = await client.place_limit_order("777", pair="BTCZAR", side="BUY", quantity=Decimal("0.0002"),
                                                    price=Decimal("1100000"), customer_order_id=str(intent))
            return placed.id

    valr_id = asyncio.run(place_elsewhere())
    sim.fill(str(intent), "0.0001")  # it partly filled before anyone here knew of it
    account = orders.account("777")
    order_id, _ = orders.insert(account, qty="0.0002", price="1100000", intent=intent, status="submitted",
                                ext_order_id=valr_id)
    base = sim.counters()["rest"]
    start_worker()

    wait_for(lambda: len(orders.fills(order_id)) == 1, timeout=20, what="the fill made before insertion")
    time.sleep(2.5)  # a catch-up tick (--catch-up 2) must not reconcile it again
    rest = sim.counters()["rest"]
    assert rest.get("GET /v1/orders/open", 0) - base.get("GET /v1/orders/open", 0) == 1
    assert orders.get(order_id)["ws_monitored_at"] is not None
    sim.fill(str(intent))
    orders.wait_status(order_id, "filled")
    assert sim.status_lookups() == 0


def run_worker_once(db_url: str, sim_url: str, key: str, secret: str = API_SECRET):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VALR_", "DATABASE_URL"))}
    env.update(VALR_API_KEY=key, VALR_API_SECRET=secret)
    return subprocess.run([sys.executable, "-m", "worker", "run", "--database-url", db_url,
                           "--valr-base-url", sim_url], capture_output=True, text=True, env=env, timeout=60)


def test_wrong_api_key_refuses_to_start_with_one_line_and_burns_nothing(sim, orders, worker_url):
    account = orders.account("")
    order_id, _ = orders.insert(account)
    proc = run_worker_once(worker_url, sim.base_url, "not-the-key")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: VALR_API_KEY: VALR refused the key (401 Invalid API key)"), proc.stderr
    assert "Traceback" not in proc.stderr and API_SECRET not in proc.stderr
    assert orders.status(order_id) == "pending"
    assert sim.counters()["rest"].get("POST /v1/orders/limit", 0) == 0


def test_key_refused_at_run_time_stops_placement_and_alerts_instead_of_failing_orders(sim, orders, start_worker):
    account = orders.account("")
    worker = start_worker()
    first, _ = orders.insert(account)
    orders.wait_status(first, "submitted")
    sim.faults(key_revoked=True)  # the key is deleted at VALR while the worker runs
    ids = [orders.insert(account)[0] for _ in range(3)]
    wait_for(lambda: "VALR refused the API key" in worker.log(), what="the refusal to be logged")
    alerts = dict(orders.sql("SELECT name, detail FROM lth_pvr.v_alerts"))
    assert "Invalid API key" in alerts["auth_refused"]
    # Catch-up ticks (--catch-up 2) claim nothing while the key is refused: wait for a tick that ran
    # the re-check (a whole catch-up interval after the refusal, claiming first) with all three back
    # at pending. A placed or failed order never returns to pending, so this wait fails on it.
    wait_for(lambda: "API key still not accepted" in worker.log()
             and [orders.status(i) for i in ids] == ["pending"] * 3, timeout=30,
             what="a catch-up tick's key re-check with every order pending")
    assert [orders.status(i) for i in ids] == ["pending"] * 3
    assert orders.sql("SELECT count(*) FROM lth_pvr.exchange_orders WHERE status = 'failed'")[0][0] == 0
    # The key works again (restored at VALR): the worker re-checks it and places what waited.
    sim.faults(key_revoked=False)
    for order_id in ids:
        orders.wait_status(order_id, "submitted", timeout=90)
    assert "auth_refused" not in dict(orders.sql("SELECT name, detail FROM lth_pvr.v_alerts"))


@pytest.mark.parametrize("problem, url_of, says", [
    ("no such database", lambda pg, url: url.rsplit("/", 1)[0] + "/no_such_db", 'database "no_such_db" does not exist'),
    ("no such role", lambda pg, url: "postgresql://nobody@" + url.split("@", 1)[1], 'role "nobody" does not exist'),
    ("not a valr_worker", lambda pg, url: url, "may not run the worker's functions in"),
])
def test_run_with_a_wrong_database_says_one_line_and_exits_2(embedded_pg, reader_url, problem, url_of, says):
    started = time.monotonic()
    proc = run_worker_once(url_of(embedded_pg, reader_url), "http://127.0.0.1:1", API_KEY)
    assert proc.returncode == 2, proc.stderr
    assert_one_error_line(proc.stderr, says)
    assert time.monotonic() - started < 15  # no 30 s of pool retries


def test_run_with_a_wrong_password_says_one_line_and_exits_2():
    from worker.lab.embedded import EmbeddedPostgres

    with EmbeddedPostgres(durable=False, password="right-pw") as pg:
        proc = run_worker_once(pg.url().replace("right-pw", "wrong-pw"), "http://127.0.0.1:1", API_KEY)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, f'error: cannot connect to postgresql://{pg.user}:***@{pg.host}:{pg.port}/'
                                       f'{pg.dbname}: password authentication failed for user "{pg.user}"')


def test_run_on_a_database_never_migrated_says_so(embedded_pg):
    proc = run_worker_once(embedded_pg.url("postgres"), "http://127.0.0.1:1", API_KEY)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "has no schema lth_pvr: run `valr-monitor migrate`")


def assert_one_error_line(stderr: str, says: str) -> None:
    """The refusal is the last line, the only error and the only warning: no traceback, no retries
    (the start-up lines before it, such as the open-files limit, are INFO)."""
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and says in lines[-1], stderr
    assert [line for line in lines if "error" in line.lower() or "WARN" in line] == [lines[-1]], stderr
    assert "Traceback" not in stderr
