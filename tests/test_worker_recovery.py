"""The worker recovers by itself (issue 15, Recovery): after a database outage it watches again and
reconciles within seconds; SIGTERM is honoured while VALR is unreachable at start; a worker killed
with -9 leaves no ghost sessions and no alert that fires for ever. Real processes, real PostgreSQL,
the simulator over real sockets.
"""

from __future__ import annotations

import time

import pytest

from tests.harness import API_KEY, API_SECRET, Orders, WorkerProcess, compare_with_truth, wait_for
from worker.db.migrate import migrate
from worker.lab.embedded import EmbeddedPostgres, free_port
from worker.lab.worker_process import WorkerProcess as SharedWorkerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def own_cluster():
    """A PostgreSQL cluster of this test's own: it is stopped and started again, which the session's
    shared cluster (and every other test on it) must not see."""
    pg = EmbeddedPostgres(durable=False)
    pg.start()
    migrate(pg.url(), cron=False)  # no safety-net cron job: only the worker can repair what the outage hid
    yield pg
    pg.stop()


def test_after_a_database_outage_the_worker_watches_again_and_reconciles_within_seconds(sim, own_cluster, tmp_path):
    orders = Orders(own_cluster.url())
    account = orders.account("")
    worker = WorkerProcess(own_cluster.url(), sim.base_url, tmp_path / "worker.log")  # --lease-ttl 4
    try:
        placed = [orders.insert(account) for _ in range(3)]
        for order_id, _ in placed:
            orders.wait_status(order_id, "submitted")
        wait_for(lambda: all(orders.get(o)["ws_monitored_at"] for o, _ in placed), what="the orders watched")

        before_outage = len(worker.log().splitlines())
        own_cluster.pause()
        for _, intent in placed:
            sim.fill(str(intent))  # filled on the exchange while the worker cannot record anything
        # Longer than the lease TTL (4 s: the worker closes its sockets, lease_unrenewable) and than the
        # pool's 30 s wait for a connection (ticks fail, as in the 53 s outage this test pins): until the
        # worker said both, not a fixed 40 s.
        def since_outage() -> str:
            return "\n".join(worker.log().splitlines()[before_outage:])

        wait_for(lambda: "leases not renewed in time" in since_outage() and tick_failed_on_the_pool(since_outage()),
                 timeout=60, what="the leases given up and a tick failed after the pool's 30 s wait")
        during = warnings_and_errors(since_outage())
        own_cluster.resume()
        back = time.monotonic()

        wait_for(lambda: all(orders.status(o) == "filled" for o, _ in placed), timeout=30,
                 what="the fills made during the outage to be recorded")
        recovery_s = time.monotonic() - back
        print(f"recovered {len(placed)} orders {recovery_s:.1f} s after the database came back")
        assert recovery_s < 15
        assert compare_with_truth(orders, sim.truth()) == []
        assert worker.alive
        assert "leases not renewed in time; closing their sockets" in worker.log()
        assert "subaccount reconciled" in worker.log()
        # Issue 21 item 13: one line per change of state, not the pool's warning at every reconnection.
        print("\n".join(during))
        assert sum("PostgreSQL unreachable" in line for line in during) == 1, during
        assert "error connecting" not in worker.log()
        assert len(during) <= 4, during  # LISTEN lost, unreachable, leases not renewed, at most one more
        # The session whose close could not be recorded while the database was away is not left open.
        wait_for(lambda: orders.sql("SELECT count(*) FROM lth_pvr.ws_sessions WHERE closed_at IS NULL") == [(0,)],
                 timeout=15, what="no session left open once nothing is open")
    finally:
        worker.stop()


def test_sigterm_while_valr_is_unreachable_at_start_exits_promptly(worker_url, tmp_path):
    dead_valr = f"http://127.0.0.1:{free_port()}"
    worker = SharedWorkerProcess("unreachable", worker_url, dead_valr, API_KEY, API_SECRET, tmp_path)
    worker.start()
    try:
        wait_for(lambda: worker.log().count("cannot read VALR's clock yet") >= 3, timeout=30,
                 what="the clock check to be retrying")
        began = time.monotonic()
        code = worker.stop(timeout=10)
        took = time.monotonic() - began
    finally:
        worker.kill()
    assert code == 0, worker.log()[-2000:]
    assert took < 3, f"SIGTERM took {took:.1f} s"


def test_a_killed_worker_leaves_no_ghost_sessions_and_no_alert_for_ever(sim, orders, start_worker):
    orders.settle(worker_retire_seconds=3)
    orders.settle(worker_heartbeat_seconds=6)
    accounts = [orders.account(f"{300 + i}") for i in range(2)]
    doomed = start_worker()
    survivor = start_worker()
    placed = [orders.insert(a) for a in accounts]
    for order_id, _ in placed:
        orders.wait_status(order_id, "submitted", timeout=30)
    def worker_id(process) -> str:
        return wait_for(lambda: orders.sql("SELECT worker_id FROM lth_pvr.workers WHERE pid = %s", (process.proc.pid,)),
                        what=f"the heartbeat of {process.name}")[0][0]

    doomed_id, survivor_id = worker_id(doomed), worker_id(survivor)

    doomed.kill()
    killed_at = time.monotonic()
    wait_for(lambda: orders.sql("SELECT stopped_at IS NOT NULL FROM lth_pvr.workers WHERE worker_id = %s",
                                (doomed_id,))[0][0], timeout=30, what="the killed worker to be retired")
    assert orders.sql("SELECT count(*) FROM lth_pvr.v_active_sessions WHERE worker_id = %s", (doomed_id,)) == [(0,)]
    assert {w for (w,) in orders.sql("SELECT DISTINCT worker_id FROM lth_pvr.subaccount_leases")} <= {survivor_id}
    time.sleep(max(0.0, killed_at + 8 - time.monotonic()))  # past the (lowered) stale threshold
    alerts = {name: detail for name, detail in orders.sql("SELECT name, detail FROM lth_pvr.v_alerts")}
    assert "stale_workers" not in alerts, alerts
    assert "no_live_worker" not in alerts
    # The survivor took the subaccounts over and still follows the orders to their end.
    for _, intent in placed:
        sim.fill(str(intent))
    for order_id, _ in placed:
        orders.wait_status(order_id, "filled", timeout=30)


@pytest.mark.parametrize("same_id", [False, True], ids=["new-id-same-host", "same-worker-id"])
def test_a_worker_restarted_after_kill_9_watches_its_subaccounts_again_at_once(sim, orders, start_worker, same_id):
    """Issue 21 item 10: a restart on the same host (systemd after kill -9) does not wait for its dead
    predecessor's leases to expire (60 s here): under the same --worker-id, or under a new id once its
    predecessor's pid is gone, the subaccount is watched again within seconds."""
    args = ("--lease-ttl", "60", *(("--worker-id", "restarted") if same_id else ()))
    account = orders.account("410")
    first = start_worker(*args)
    order_id, intent = orders.insert(account)
    orders.wait_status(order_id, "submitted", timeout=30)
    first.kill()
    (killed_at,) = orders.sql("SELECT now()")[0]
    second = start_worker(*args)

    def watched_again() -> bool:
        return orders.sql("""SELECT count(*) FROM lth_pvr.ws_sessions s JOIN lth_pvr.workers w USING (worker_id)
                              WHERE s.exchange_account_id = %s AND s.authenticated_at > %s AND s.closed_at IS NULL
                                AND w.pid = %s""", (account, killed_at, second.proc.pid))[0][0] == 1
    wait_for(watched_again, timeout=20, what=f"the restarted worker watching the subaccount; log:\n{second.log()}")
    assert orders.sql("SELECT now() - %s < interval '20 seconds'", (killed_at,))[0][0]
    if not same_id:
        assert "took over the leases of a dead worker on this host" in second.log()
    sim.fill(str(intent))
    orders.wait_status(order_id, "filled", timeout=20)


def tick_failed_on_the_pool(log: str) -> bool:
    """A tick gave up waiting for a pooled connection (psycopg_pool's PoolTimeout, after its 30 s)."""
    return any("source=tick" in line and "couldn't get a connection" in line for line in log.splitlines())


def warnings_and_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if " WARNI" in line or " ERROR" in line]


def test_postgresql_down_at_start_is_waited_for_in_one_line_then_used(sim, own_cluster, tmp_path):
    """Issue 21 item 13: a database that refuses connections when the worker starts (the unit's
    After= does not wait for a remote one) is waited for — one line, not exit 2 in 0.3 s, which the
    unit would not restart — and the worker starts once it answers."""
    orders = Orders(own_cluster.url())
    account = orders.account("")
    own_cluster.pause()
    worker = WorkerProcess(own_cluster.url(), sim.base_url, tmp_path / "worker.log")  # --log-level debug
    try:
        wait_for(lambda: worker.log().count("PostgreSQL not ready yet") >= 3, timeout=30,
                 what="the worker retrying while PostgreSQL is down")
        assert worker.alive, worker.log()
        waiting = warnings_and_errors(worker.log())
        assert len(waiting) == 1 and "waiting for PostgreSQL to accept connections" in waiting[0], worker.log()
        assert "Connection refused" in waiting[0]
        own_cluster.resume()
        wait_for(lambda: "worker started" in worker.log(), timeout=30, what=f"the start; log:\n{worker.log()}")
        assert "PostgreSQL reachable again" in worker.log()
        order_id, _ = orders.insert(account)
        orders.wait_status(order_id, "submitted")
    finally:
        worker.stop()


def test_sigterm_while_postgresql_is_down_at_start_exits_promptly(sim, tmp_path):
    nowhere = f"postgresql://valr@127.0.0.1:{free_port()}/valr_monitor"
    worker = SharedWorkerProcess("no-database", nowhere, sim.base_url, API_KEY, API_SECRET, tmp_path)
    worker.start()
    try:
        wait_for(lambda: "waiting for PostgreSQL to accept connections" in worker.log(), timeout=30,
                 what="the worker waiting for PostgreSQL")
        began = time.monotonic()
        code = worker.stop(timeout=10)
        took = time.monotonic() - began
    finally:
        worker.kill()
    assert code == 0, worker.log()[-2000:]
    assert took < 3, f"SIGTERM took {took:.1f} s"
