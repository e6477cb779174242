"""The worker lifts its own soft open-files limit to the hard limit at start: a shell or a service
manager that starts it with a soft limit of 1,024 must not cap it below the 1,000 subaccount sockets
the README promises (plus its database pool and REST connections)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

from tests.harness import API_KEY, API_SECRET, wait_for

LOW_SOFT_LIMIT = 256


def open_files_limits(pid: int) -> tuple[int, int]:
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no 'Max open files' line")


def test_worker_raises_its_soft_file_limit_to_the_hard_limit(worker_url, sim, tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert hard > LOW_SOFT_LIMIT, "the test needs a hard limit above the lowered soft one"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALR_")}
    env.update(VALR_API_KEY=API_KEY, VALR_API_SECRET=API_SECRET, PYTHONUNBUFFERED="1")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "run", "--database-url", worker_url, "--valr-base-url", sim.base_url],
            stdout=log, stderr=subprocess.STDOUT, env=env,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (LOW_SOFT_LIMIT, hard)),
        )
    try:
        wait_for(lambda: "worker started" in log_path.read_text(), timeout=20, what="the worker to start")
        assert proc.poll() is None, log_path.read_text()
        assert open_files_limits(proc.pid) == (hard, hard)
        assert f"open files limit soft={hard}" in log_path.read_text()
    finally:
        proc.terminate()
        proc.wait(20)
