"""Issue 21 item 16: a stopped pg_cron launcher and a missing or inactive safety-net job are said at
once, each by its own alert (not after two missed ticks), and read by a `valr_reader` member. A cluster
of this test's own, with pg_cron living in the application's database (so cron.job is visible there)
and its launcher really terminated."""

from __future__ import annotations

import pytest

from tests.harness import wait_for
from worker.db.migrate import migrate
from worker.lab.embedded import EmbeddedPostgres

pytestmark = pytest.mark.slow


@pytest.fixture
def cron_cluster():
    pg = EmbeddedPostgres(durable=False)
    pg.start()
    migrate(pg.url())  # with the pg_cron jobs, in this very database
    yield pg
    pg.stop()


def alerts(conn) -> dict[str, str]:
    """Alerts as a valr_reader member sees them, a live worker and a fresh tick keeping the rest quiet."""
    conn.execute("SELECT lth_pvr.worker_heartbeat('alive', 'h', 1)")
    conn.execute("INSERT INTO lth_pvr.safety_net_runs (ran_at, orders_due, notified) VALUES (now(), 0, false)")
    conn.execute("SET ROLE cron_reader")
    try:
        return dict(conn.execute("SELECT name, detail FROM lth_pvr.v_alerts").fetchall())
    finally:
        conn.execute("RESET ROLE")


def test_a_missing_or_inactive_job_and_a_stopped_launcher_are_said_at_once(cron_cluster):
    with cron_cluster.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE cron_reader IN ROLE valr_reader")
        launcher = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'"
        wait_for(lambda: conn.execute(launcher).fetchall(), timeout=10, what="pg_cron's launcher")
        assert not {"pg_cron_stopped", "safety_net_job_missing"} & set(alerts(conn))

        conn.execute("SELECT cron.alter_job(jobid, active => false) FROM cron.job WHERE jobname LIKE '%poll_orders%'")
        assert "inactive" in alerts(conn)["safety_net_job_missing"]
        conn.execute("SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE '%poll_orders%'")
        assert "no safety-net job" in alerts(conn)["safety_net_job_missing"]

        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'")
        wait_for(lambda: not conn.execute(launcher).fetchall(), timeout=10, what="the launcher gone")
        fired = alerts(conn)
        assert "launcher is not running" in fired["pg_cron_stopped"]
        assert "safety_net_job_missing" not in fired  # the launcher is the cause to fix first
        # Two ticks later the age rule would fire too; the specific alert stands alone.
        late = dict(conn.execute("SELECT name, detail FROM lth_pvr.alerts(now() + interval '30 minutes')").fetchall())
        assert "pg_cron_stopped" in late and "safety_net_late" not in late
