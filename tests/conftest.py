"""Shared fixtures: one embedded PostgreSQL (pg_cron preloaded) for the whole run, and a fresh
database per test cloned from a migrated template (pytest-postgresql's noproc factory migrates the
template; FreshDatabases clones it one test ahead).

Fixtures:
  embedded_pg  the cluster (worker.lab.embedded.EmbeddedPostgres); its app database is the pg_cron
               database, so cron tests schedule into per-test databases with schedule_in_database.
  postgresql   a psycopg connection (superuser) to a fresh, migrated database (no cron jobs).
  db_url       the URL of that same database, for code under test that connects by itself.
  account      an exchange account in that database, committed.
  worker_url, operator_url, reader_url   logins that are only members of valr_worker / _operator / _reader.
  sim          the VALR simulator (manual mode); orders: tests.harness.Orders on db_url;
  start_worker worker processes against both, stopped at teardown.
Helpers that are not fixtures live in tests/support/ (SQL tests, in-process daemon parts) and
tests/harness.py (end-to-end).
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from pytest_postgresql import factories

from tests.support.sql import make_account
from worker.lab.embedded import EmbeddedPostgres
from worker.db.migrate import migrate


# The longest files (seconds with --durations, 2026-12-07, two processes on the 2-core machine loaded by
# other suites, load average ~6), started first: ./dev test hands whole files to its processes in
# collection order, and a long file handed out last would leave one process working alone at the end.
# Any other file keeps its place. The bench works the CPU while the next few mostly wait (an outage, a
# minute boundary, chaos of fixed length, pip).
LONGEST_FIRST = [
    "test_exchanges_e2e.py",             # ~130-170 s: 25 end-to-end tests over three exchanges' doubles
    "test_chaos_short.py",               # 80-200 s: Kraken's share at ccxt's pace varies (docs/performance.md)
    "test_races_e2e.py",                 # ~80 s: one test waits 18-28 s for a minute boundary
    "test_worker_recovery.py",           # ~55-65 s: a 30-35 s database outage
    "test_bench_smoke.py",               # 40-60 s: the quick bench's figures 1-5
    "test_bench_smoke_scale_fallback_ledger.py",  # 47-55 s: the quick bench's figures 6-11
    "test_bench_smoke_exchanges.py",     # ~25 s: the quick bench's figure 12 (three exchanges, Kraken paced)
    "test_deploy.py",                    # ~70 s: a wheel installed in a fresh venv, as the deploy guide says
    "test_fallback_e2e.py",              # ~65 s
    "test_packaging.py",                 # ~65 s: a wheel built, a venv installed
    "test_chaos_killed_before_post.py",  # 20-60 s
    "test_worker_e2e.py",                # ~60 s
    "test_chaos_fallback.py",            # ~40 s
    "test_demo.py",                      # ~25-35 s: the demo, its exchange acts at once among them
    "test_exchange_ledger_e2e.py",       # ~35 s: deposits and balances through ccxt, a worker each
    "test_security_logs.py",             # ~22 s
    "test_sim_valr_python.py",           # ~18 s
    "test_worker_many_open_orders.py",   # 11-67 s
]


def pytest_configure(config):
    """Every throwaway cluster of the run — the session's, a test's own, those of the chaos, demo and
    quick-bench commands it runs — in memory when the machine has room (VALR_PG_TMPDIR, unless set): a
    clone per test creates and removes ~1,000 files, which on the 2-core machine's disk (ext4 with
    discard) cost 0.3-1 s of kernel time each; three SQL test files went from ~60 s to ~10 s."""
    if "VALR_PG_TMPDIR" not in os.environ and (directory := memory_dir()):
        os.environ["VALR_PG_TMPDIR"] = directory


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole, in order


@pytest.fixture(scope="session")
def embedded_pg():
    # Not durable: tests do not need fsync, and it makes cloning a database per test cheap. Fewer WAL
    # segments kept (in memory, see pytest_configure; the clones write ~10 MB of WAL each).
    pg = EmbeddedPostgres(durable=False, extra_settings={"max_wal_size": "'256MB'", "min_wal_size": "'32MB'"})
    pg.start()
    # pg_cron's extension lives in the cron database; create it once for every test.
    with pg.connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
        wait_for_cron_launcher(conn)
    yield pg
    pg.stop()


def memory_dir(path: str = "/dev/shm", room_gb: float = 2.0) -> str | None:
    """A tmpfs directory with room for a cluster and its clones, or None (the default, /tmp): a
    container's 64 MB /dev/shm is not enough."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    writable = os.access(path, os.W_OK | os.X_OK)
    return path if writable and stat.f_bavail * stat.f_frsize >= room_gb * 2**30 else None


def wait_for_cron_launcher(conn, timeout_s: float = 30.0) -> None:
    """pg_cron's launcher starts a moment after its extension is created: until it shows in
    pg_stat_activity the pg_cron_stopped alert is (rightly) raised, and a test reading alerts first
    would see it."""
    deadline = time.monotonic() + timeout_s
    while not conn.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity "
                           "WHERE backend_type = 'pg_cron launcher')").fetchone()[0]:
        assert time.monotonic() < deadline, "pg_cron's launcher did not start"
        time.sleep(0.05)


def load_migrated_schema(host, port, user, dbname, password=None, **_):
    """Template loader: the template is migrated without cron jobs (clones cannot share jobs)."""
    migrate(make_conninfo(host=host, port=port, user=user, dbname=dbname, password=password), cron=False)


postgresql_template = factories.postgresql_noproc(
    depends_on="embedded_pg", dbname="valr_test", load=[load_migrated_schema]
)


@pytest.fixture(scope="session")
def fresh_databases(postgresql_template):
    pool = FreshDatabases(postgresql_template)
    yield pool
    pool.close()


@pytest.fixture
def postgresql(fresh_databases):
    """A fresh clone of the migrated template (a database of this test's own, dropped after it)."""
    dbname = fresh_databases.take()
    conn = psycopg.connect(**fresh_databases.conninfo(dbname))
    try:
        yield conn
    finally:
        conn.close()
        fresh_databases.give_back(dbname)


class FreshDatabases:
    """Clones of the migrated template made one test ahead, and used ones dropped, in a thread of their
    own: a test's set-up takes a database that is ready instead of waiting for CREATE DATABASE (~0.3 s
    of the set-up of every one of ~900 tests), and its teardown does not wait for the DROP. Each test
    still has a brand-new clone, never one another test used."""

    AHEAD = 2  # two: a test shorter than a CREATE DATABASE still finds the next one ready

    def __init__(self, template) -> None:
        self.template = template
        self.jobs: queue.Queue = queue.Queue()
        self.ready: queue.Queue = queue.Queue()
        self.count = itertools.count()
        self.thread = threading.Thread(target=self._work, name="fresh-databases", daemon=True)
        self.thread.start()
        for _ in range(self.AHEAD):
            self.jobs.put(("create", None))

    def conninfo(self, dbname: str) -> dict:
        t = self.template
        return dict(host=t.host, port=t.port, user=t.user, password=t.password, dbname=dbname, options=t.options)

    def take(self) -> str:
        self.jobs.put(("create", None))  # the next test's, made while this one runs
        dbname, error = self.ready.get(timeout=120)
        if error is not None:
            raise error
        return dbname

    def give_back(self, dbname: str) -> None:
        self.jobs.put(("drop", dbname))

    def close(self) -> None:
        self.jobs.put(("stop", None))
        self.thread.join(timeout=60)

    def _work(self) -> None:
        with psycopg.connect(**self.conninfo(self.template.maintenance_dbname), autocommit=True) as conn:
            while True:
                job, dbname = self.jobs.get()
                if job == "stop":
                    break
                if job == "drop":
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
                    continue
                dbname = f"{self.template.dbname}_{next(self.count)}"
                try:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
                    conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(dbname), sql.Identifier(self.template.template_dbname)))
                    self.ready.put((dbname, None))
                except Exception as exc:  # handed to the test that takes it
                    self.ready.put((dbname, exc))
            while not self.ready.empty():  # those made ahead for no test
                dbname, error = self.ready.get()
                if error is None:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


@pytest.fixture
def account(postgresql):
    account_id = make_account(postgresql)
    postgresql.commit()
    return account_id


@pytest.fixture
def db_url(postgresql) -> str:
    info = postgresql.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


def login_role(postgresql, embedded_pg, member_of: str):
    """A login role that is only a member of `member_of`, on this test's database; dropped after."""
    role = f"{member_of.removeprefix('valr_')}_{postgresql.info.dbname}"[:60]
    with embedded_pg.connect(autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(f'CREATE ROLE "{role}" LOGIN IN ROLE {member_of}')
    info = postgresql.info
    yield f"postgresql://{role}@{info.host}:{info.port}/{info.dbname}"
    with embedded_pg.connect(autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def worker_url(postgresql, embedded_pg):
    """The worker runs with least privilege: a login that is only a member of valr_worker."""
    yield from login_role(postgresql, embedded_pg, "valr_worker")


@pytest.fixture
def operator_url(postgresql, embedded_pg):
    """A strategy's or operator's login: only a member of valr_operator (no superuser)."""
    yield from login_role(postgresql, embedded_pg, "valr_operator")


@pytest.fixture
def reader_url(postgresql, embedded_pg):
    """What an operator may be given: a login that is only a member of valr_reader."""
    yield from login_role(postgresql, embedded_pg, "valr_reader")


@pytest.fixture
def sim():
    """The VALR simulator on a loopback port, nothing filling until a test says so."""
    from tests.harness import API_KEY, API_SECRET, SimAdmin
    from worker.lab.sim import SimConfig, SimulatorThread

    with SimulatorThread(API_KEY, API_SECRET, config=SimConfig(mode="manual")) as thread:
        yield SimAdmin(thread.base_url)


@pytest.fixture
def orders(db_url):
    from tests.harness import Orders

    return Orders(db_url)


@pytest.fixture
def start_worker(worker_url, sim, tmp_path):
    """Start worker processes against this test's database and simulator; all stopped at teardown."""
    from tests.harness import WorkerProcess

    started: list[WorkerProcess] = []

    def start(*extra: str) -> WorkerProcess:
        worker = WorkerProcess(worker_url, sim.base_url, tmp_path / f"worker{len(started)}.log", *extra)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
