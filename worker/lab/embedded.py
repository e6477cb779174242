"""A throwaway PostgreSQL cluster with pg_cron preloaded, for tests, the demo and benchmarks.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user, in a
directory that user owns (not under pytest's /tmp/pytest-of-root, which is mode 0700).
The cluster listens on a free loopback TCP port; the application database is also
`cron.database_name`, so pg_cron's background workers run jobs there without a password.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_DBNAME = "valr_monitor"
SERVER_USER = "postgres"


class EmbeddedPostgresError(RuntimeError):
    """The embedded cluster could not be created or started; the message says what to install."""


def find_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory (override with PG_BINDIR)."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        raise EmbeddedPostgresError(
            "PostgreSQL server binaries not found: install them (Debian: apt-get install postgresql-15) "
            "or set PG_BINDIR to the directory holding initdb and pg_ctl."
        )
    return Path(candidates[-1]).parent


def check_pg_cron(bindir: Path) -> None:
    """Fail early, with the package to install, when pg_cron is missing for this server version."""
    version = bindir.parent.name
    control = Path(f"/usr/share/postgresql/{version}/extension/pg_cron.control")
    if version.isdigit() and not control.exists():
        raise EmbeddedPostgresError(
            f"pg_cron is not installed for PostgreSQL {version}: "
            f"apt-get install postgresql-{version}-cron (as root, after apt-get update)."
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EmbeddedPostgres:
    """Start with `start()` (or use as a context manager); `stop()` removes everything."""

    dbname: str = DEFAULT_DBNAME
    durable: bool = True  # fsync/synchronous_commit on, as in production (benchmarks need it)
    max_connections: int = 300
    extra_settings: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    user: str = SERVER_USER
    password: str | None = None
    options: str = ""
    maintenance_dbname: str = "postgres"
    template_dbname: str | None = None  # read by pytest-postgresql's depends_on
    base_dir: Path | None = None
    _started: bool = False
    _port_held: socket.socket | None = None  # while paused: the port, bound and not listening

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "EmbeddedPostgres":
        self.bindir = find_bindir()
        check_pg_cron(self.bindir)
        self.base_dir = Path(tempfile.mkdtemp(prefix="valr-pg-", dir=os.environ.get("VALR_PG_TMPDIR", "/tmp")))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"
        self._own_for_server(self.base_dir)
        atexit.register(self.stop)  # a backstop: Ctrl-C and normal exits also reach stop()
        try:
            self._initdb()
            self.port = self.port or free_port()
            self._write_config()
            self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_file))
            self._started = True
            self._create_app_database()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._started:
            self._started = False
            try:
                self._pg_ctl("stop", "-m", "fast", "-w", "-t", "30")
            except (subprocess.CalledProcessError, EmbeddedPostgresError):
                self._pg_ctl("stop", "-m", "immediate", "-w", check=False)
        if self.base_dir and self.base_dir.exists():
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server, keeping its data, until resume() (an outage, for recovery tests). Its port
        stays ours, bound and not listening: a connection is refused, as by a server that is down, and no
        other process of the machine (a test's simulator on a free port) can take it meanwhile and answer
        in its stead."""
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            held.bind((self.host, self.port))
        except OSError:  # taken already in the moment between: the outage is still an outage
            held.close()
            return
        self._port_held = held

    def resume(self) -> None:
        if self._port_held is not None:
            self._port_held.close()
            self._port_held = None
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_file))

    def restart(self, mode: str = "fast") -> None:
        """Restart the server (chaos testing); data survives, connections do not."""
        self._pg_ctl("restart", "-m", mode, "-w", "-t", "60", "-l", str(self.log_file))

    def __enter__(self) -> "EmbeddedPostgres":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connection details -----------------------------------------------------------------
    def url(self, dbname: str | None = None) -> str:
        auth = self.user if self.password is None else f"{self.user}:{self.password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname or self.dbname}"

    def connect(self, dbname: str | None = None, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), **kwargs)

    def server_log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- internals --------------------------------------------------------------------------
    def _as_server_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SERVER_USER, "--", *argv]
        return argv

    def _own_for_server(self, path: Path) -> None:
        os.chmod(path, 0o700)
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise EmbeddedPostgresError(
                    "running as root needs the 'postgres' OS user (created by Debian's postgresql package)"
                ) from exc
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            self._as_server_user(argv), capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise EmbeddedPostgresError(
                f"{Path(argv[0]).name} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
                + (f"\n--- server log ---\n{self.server_log_tail()}" if argv[0].endswith("pg_ctl") else "")
            )
        return proc

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args], check=check)

    def _initdb(self) -> None:
        argv = [str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", self.user,
                "-E", "UTF8", "--locale=C", "-A", "trust"]
        if self.password is not None:
            pwfile = self.base_dir / "pwfile"
            pwfile.write_text(self.password)
            self._own_for_server(pwfile)
            argv[-2:] = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        self._run(argv)
        if self.password is not None:
            (self.base_dir / "pwfile").unlink()

    def _write_config(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base_dir}'",
            "max_connections": str(self.max_connections),
            "shared_preload_libraries": "'pg_cron'",
            "cron.database_name": f"'{self.dbname}'",
            # Run jobs in background workers: no libpq connection, no password, no socket path.
            "cron.use_background_workers": "on",
            "max_worker_processes": "40",
            "fsync": "on" if self.durable else "off",
            "synchronous_commit": "on" if self.durable else "off",
            "full_page_writes": "on" if self.durable else "off",
            "log_min_messages": "warning",
            "log_line_prefix": "'%m [%p] '",
        }
        settings.update(self.extra_settings)
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\n# valr-order-monitor embedded cluster\n")
            for key, value in settings.items():
                fh.write(f"{key} = {value}\n")

    def _create_app_database(self) -> None:
        with self.connect(self.maintenance_dbname, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))


def wait_until_ready(url: str, timeout: float = 30.0) -> None:
    """Block until the server at `url` accepts connections (after a restart)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
