"""No secret in any log line: a worker at --log-level debug, connected with a password (scram over TCP),
is taken through placement, a lost placement answer, dropped sockets, a malformed frame, 429 and 5xx
answers, a terminated database connection and a failed database login; every line it wrote — and
every line a refused start writes — is searched for the API secret and the database passwords.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from psycopg import sql

from tests.harness import Orders, wait_for
from tests.support.sql import settle
from worker.lab.embedded import EmbeddedPostgres
from worker.db.migrate import migrate
from worker.lab.worker_process import WorkerProcess

pytestmark = pytest.mark.slow

API_KEY = "log-test-key"
API_SECRET = "S3cr3t-api-" + uuid.uuid4().hex
SUPERUSER_PASSWORD = "pg-superuser-" + uuid.uuid4().hex[:16]
WORKER_PASSWORD = "pg-worker-" + uuid.uuid4().hex[:16]
ROLE = "log_test_worker"


def leaks(text: str) -> list[str]:
    """Each secret, whole or by its distinctive first 14 characters."""
    found = []
    for name, secret in (("API secret", API_SECRET), ("superuser password", SUPERUSER_PASSWORD),
                         ("worker password", WORKER_PASSWORD)):
        if secret in text or secret[:14] in text:
            found.append(name)
    return found


def lines_with_secrets(text: str) -> list[str]:
    return [line[:300] for line in text.splitlines() if leaks(line)]


@pytest.fixture(scope="module")
def secured_pg():
    with EmbeddedPostgres(durable=False, password=SUPERUSER_PASSWORD) as pg:
        migrate(pg.url(), cron=False)
        with pg.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE valr_worker").format(
                sql.Identifier(ROLE), sql.Literal(WORKER_PASSWORD)))
            settle(conn, placement_grace_seconds=3)
        yield pg


def worker_url(pg: EmbeddedPostgres, password: str = WORKER_PASSWORD) -> str:
    return f"postgresql://{ROLE}:{password}@{pg.host}:{pg.port}/{pg.dbname}"


def set_worker_password(pg: EmbeddedPostgres, password: str) -> None:
    with pg.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(password)))


def test_worker_debug_log_holds_no_secret_through_placement_reconnects_and_errors(secured_pg, tmp_path):
    from worker.lab.sim import SimConfig, SimulatorThread

    pg = secured_pg
    orders = Orders(pg.url())
    with SimulatorThread(API_KEY, API_SECRET, config=SimConfig(mode="auto", fill_delay_s=0.6)) as sim:
        accounts = [orders.account(f"{880 + i}") for i in range(2)]
        worker = WorkerProcess("worker", worker_url(pg), sim.base_url, API_KEY, API_SECRET, tmp_path,
                               ("--log-level", "debug", "--lease-ttl", "4", "--catch-up", "1"))
        worker.start()
        try:
            first = [orders.insert(a)[0] for a in accounts]
            for order_id in first:
                orders.wait_status(order_id, "filled", timeout=20)

            sim.set_faults(lose_placement_answers=1)            # accepted, answer lost: looked up
            lost, _ = orders.insert(accounts[0])
            orders.wait_status(lost, "filled", timeout=30)
            sim.set_faults(rest_error={"status": 429, "count": 3, "retry_after": 0.2})
            limited, _ = orders.insert(accounts[1])
            orders.wait_status(limited, "submitted", timeout=30)
            sim.set_faults(malformed_frame=True)                        # while its socket is open
            wait_for(lambda: "skipped account frame" in worker.log_path.read_text(errors="replace"),
                     timeout=10, what="the malformed frame to be skipped")
            sim.set_faults(close_sockets=True)
            orders.wait_status(limited, "filled", timeout=30)
            # A 5xx on placement: the order stays `placing`, is looked up (another 5xx), is not found,
            # and is placed again after the (shortened) grace period — once.
            sim.set_faults(rest_error={"status": 503, "count": 2})
            refused, _ = orders.insert(accounts[0])
            assert orders.wait_status(refused, "filled", timeout=40)["placement_requeues"] == 1

            # A failed database login (the password changed under the worker), then the right one again.
            set_worker_password(pg, "changed-" + uuid.uuid4().hex)
            with pg.connect(autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (ROLE,))
            wait_for(lambda: "password authentication failed" in worker.log_path.read_text(errors="replace"),
                     timeout=20, what="the worker to hit the failed login")
            set_worker_password(pg, WORKER_PASSWORD)
            last, _ = orders.insert(accounts[1])
            orders.wait_status(last, "filled", timeout=40)
        finally:
            worker.stop()

    log = worker.log_path.read_text(errors="replace")
    # The run did go through what it claims to test.
    for expected in ("order placed", "placement answer lost", "VALR rate limit", "VALR answered 503",
                     "password authentication failed", "skipped account frame", "DEBUG"):
        assert expected in log, f"{expected!r} not in the worker log"
    assert lines_with_secrets(log) == []


def test_refused_start_and_bad_settings_print_no_secret(secured_pg):
    """Errors at start (a wrong database password, a malformed URL) are one line without the secrets."""
    env = {"PATH": "/usr/bin:/bin", "VALR_API_KEY": API_KEY, "VALR_API_SECRET": API_SECRET}
    bad_url = f"http://user:{WORKER_PASSWORD}@nowhere/db"
    proc = subprocess.run([sys.executable, "-m", "worker", "run", "--database-url", bad_url,
                           "--log-level", "debug"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode != 0
    assert lines_with_secrets(proc.stdout + proc.stderr) == []
