"""docs/deploy.md's "Deploy" section, run as a script so it cannot drift: a cluster configured with its
postgresql.conf lines (pg_cron in `postgres`, scram passwords), its shell blocks in order — the
package installed from the wheel into a fresh virtual environment, the database, migrate, the login
roles, the environment file — then the worker started the way contrib/valr-monitor.service starts it,
against the VALR simulator, and the page's first order and `status`.

Only the settings block's values are replaced (a throwaway cluster, temporary paths, the simulator),
and the systemd block (useradd, systemctl) is checked against the unit instead of run."""

from __future__ import annotations

import re
import shlex
import socket
import signal
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.harness import API_KEY, API_SECRET, wait_for
from tests.installed import REPO, built_wheel, clean_env
from worker.lab.embedded import EmbeddedPostgres

DEPLOY = (REPO / "docs" / "deploy.md").read_text()
UNIT = (REPO / "contrib" / "valr-monitor.service").read_text()
SUPERUSER_PASSWORD = "deploy-superuser-secret"


def deploy_section() -> str:
    match = re.search(r"^## Deploy\n(.*?)(?=^## |\Z)", DEPLOY, re.S | re.M)
    assert match, "docs/deploy.md has no '## Deploy' section"
    return match.group(1)


def fenced(language: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", deploy_section(), re.S)]


def unit_value(key: str) -> str:
    (value,) = re.findall(rf"^{key}=(.*)$", UNIT, re.M)
    return value.strip()


def conf_settings() -> dict[str, str]:
    (conf,) = fenced("conf")
    return dict(line.split(" = ", 1) for line in conf.strip().splitlines())


def settings_block() -> tuple[str, dict[str, str]]:
    """The page's settings block and the variables it assigns (name → value as written)."""
    block = fenced("bash")[0]
    names = {}
    for line in block.splitlines():
        code = line.split("#")[0].strip().removeprefix("export ")
        if code:
            name, value = code.split("=", 1)
            names[name] = value
    return block, names


def service_block() -> str:
    (block,) = [b for b in fenced("bash") if "systemctl" in b]
    return block


def test_the_systemd_block_and_the_unit_agree_with_the_settings():
    _, settings = settings_block()
    service = service_block()
    user = unit_value("User")
    assert f"useradd --system --no-create-home --shell /usr/sbin/nologin {user}\n" in service
    # The unit waits for the reader's own cluster, not one named `main` (the sed rewrites After=).
    cluster_unit = re.search(r"postgresql@(\S+)\.service", unit_value("After")).group(1)
    assert settings["CLUSTER"] == cluster_unit
    assert (f'sed "s/postgresql@{cluster_unit}/postgresql@$CLUSTER/" contrib/valr-monitor.service'
            " > /etc/systemd/system/valr-monitor.service\n") in service
    assert "systemctl enable --now valr-monitor" in service
    assert unit_value("ExecStart").startswith(f"{settings['VENV']}/bin/valr-monitor run")
    assert "--worker-id %H" in unit_value("ExecStart")  # a restart takes its own leases back at once
    assert unit_value("EnvironmentFile") == settings["ENV_FILE"]
    # Ordered after the real cluster unit, no restart loop on a configuration error (exit 2), room for
    # 1,000 subaccount sockets plus the pool, nothing hiding a virtual environment under /home.
    assert "postgresql@15-main.service" in unit_value("After").split()
    assert unit_value("RestartPreventExitStatus") == "2"
    assert int(unit_value("LimitNOFILE")) >= 1_000 + 100
    assert not re.search(r"^ProtectHome=", UNIT, re.M)


def run_script(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert proc.returncode == 0, f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc


def read_env_file(path: Path) -> dict[str, str]:
    """What systemd's EnvironmentFile= gives the worker: KEY=VALUE lines."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


@pytest.fixture
def cluster():
    """A throwaway cluster with the page's postgresql.conf lines and scram passwords for TCP."""
    pg = EmbeddedPostgres(dbname="postgres", durable=False, password=SUPERUSER_PASSWORD,
                          extra_settings=conf_settings())
    with pg:
        yield pg


@pytest.mark.slow
def test_readme_deploy_section_runs_against_a_throwaway_cluster(cluster, sim, tmp_path):
    block, settings = settings_block()
    ours = {
        "VENV": tmp_path / "opt" / "valr-monitor",
        "PACKAGE": built_wheel(),
        "APP_DB": "valr_monitor",
        "CLUSTER": "15-main",  # only the systemd block uses it, and that block is checked, not run
        "PGPORT": cluster.port,  # a cluster on another port than 5432: psql and migrate follow PGPORT
        "DB_ADDRESS": f"{cluster.host}:{cluster.port}",
        "WORKER_PASSWORD": "deploy-worker-secret",
        "READER_PASSWORD": "deploy-reader-secret",
        "OPERATOR_PASSWORD": "deploy-operator-secret",
        "ENV_FILE": tmp_path / "etc" / "valr-monitor" / "env",
        "VALR_BASE_URL": sim.base_url,
        "VALR_API_KEY": API_KEY,
        "VALR_API_SECRET": API_SECRET,
        "AS_POSTGRES": "",  # the superuser over TCP with PG* below, instead of `runuser -u postgres`
    }
    assert set(settings) == set(ours), "the page's settings and the ones this test replaces differ"
    # The page's own block runs first (it must be valid), then ours overrides every value.
    prelude = "set -euo pipefail\n" + block + "".join(f"{k}={shlex.quote(str(v))}\n" for k, v in ours.items())
    env = clean_env(PGHOST=cluster.host, PGUSER=cluster.user, PGPASSWORD=SUPERUSER_PASSWORD)
    bash = fenced("bash")
    service = bash.index(service_block())
    before, after = bash[1:service], bash[service + 1:]

    setup = run_script(prelude + "\n".join(before), env, tmp_path)
    assert "done:" in setup.stdout and "cron jobs in database 'postgres'" in setup.stdout

    env_file = Path(ours["ENV_FILE"])
    assert env_file.stat().st_mode & 0o777 == 0o600
    environment = read_env_file(env_file)
    assert environment["DATABASE_URL"].startswith("postgresql://valr_monitor_worker:")

    # What systemd does with the unit: its ExecStart, with the environment file, our venv for /opt.
    exec_start = unit_value("ExecStart").replace(settings["VENV"], str(ours["VENV"]))
    exec_start = exec_start.replace("%H", socket.gethostname())  # systemd's specifier: the host name
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(shlex.split(exec_start), stdout=log, stderr=subprocess.STDOUT,
                                  env=clean_env(**environment), cwd="/", start_new_session=True)
    try:
        first_order = run_script(prelude + "\n".join(after), env, tmp_path)
        assert "1 open order(s)" in first_order.stdout

        app = cluster.url("valr_monitor")

        def watched():
            with psycopg.connect(app) as conn:
                return conn.execute("""SELECT status, ws_monitored_at IS NOT NULL FROM lth_pvr.exchange_orders
                                      """).fetchone() == ("submitted", True)
        wait_for(watched, timeout=30, what=f"the order placed and watched; worker log:\n{log_path.read_text()}")
        assert worker.poll() is None, log_path.read_text()
        assert [o["pair"] for o in sim.truth()["orders"]] == ["BTCZAR"]

        reader = f"postgresql://valr_monitor_reader:{ours['READER_PASSWORD']}@{ours['DB_ADDRESS']}/valr_monitor"
        with psycopg.connect(reader) as conn:
            assert conn.execute("SELECT status FROM lth_pvr.v_orders").fetchall() == [("submitted",)]
            conn.execute("SELECT * FROM lth_pvr.v_alerts").fetchall()
            conn.execute("SELECT * FROM lth_pvr.v_ws_coverage").fetchall()
        with cluster.connect("postgres") as conn:
            assert conn.execute("SELECT current_setting('max_worker_processes')").fetchone()[0] == \
                conf_settings()["max_worker_processes"]
            assert conn.execute("""SELECT count(*) FROM pg_authid WHERE rolname LIKE 'valr_monitor_%'
                                      AND rolpassword LIKE 'SCRAM-SHA-256$%'""").fetchone()[0] == 3
            jobs = conn.execute("SELECT jobname, database FROM cron.job ORDER BY 1").fetchall()
            assert ("lth_pvr_poll_orders@valr_monitor", "valr_monitor") in jobs
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, log_path.read_text()
