"""A `valr-monitor run` worker as a child process — exactly as a user runs it — for the demo, the
chaos soak and the tests; and `wait_for`, the one polling loop they share."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from worker.lab.orphan_guard import guarded


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll until predicate() is truthy and return its value; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class WorkerProcess:
    """One `valr-monitor run` child process, restartable (a new process each time)."""

    def __init__(self, name: str, database_url: str, sim_url: str, key: str, secret: str,
                 log_dir: Path, extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.name = name
        self.database_url = database_url
        self.sim_url = sim_url
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VALR_")}
        self.env.update(VALR_API_KEY=key, VALR_API_SECRET=secret, PYTHONUNBUFFERED="1")
        self.env.update(env or {})  # other exchanges: <EXCHANGE>_BASE_URL and <REF>_API_KEY / _API_SECRET
        self.log_path = log_dir / f"{name}.log"
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                guarded([sys.executable, "-m", "worker", "run", "--database-url", self.database_url,
                         "--valr-base-url", self.sim_url, *self.extra]),  # dies with the harness
                stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
            )
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM (the worker's clean shutdown), SIGKILL after `timeout`; the exit code."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode if self.proc is not None else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
