"""The simulator as the demo and the bench use it: in a background thread (synchronous callers), and as
the `valr-monitor sim` command, which prints its URL when ready and starts in well under a second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import httpx

from worker.lab.sim import SimConfig, SimulatorThread
from worker.lab.sim.testing import CREDS, KEY, SECRET
from worker.valr.signing import auth_headers


def test_simulator_thread_serves_synchronous_callers():
    with SimulatorThread(KEY, SECRET, config=SimConfig()) as sim:
        text = '{"side":"SELL","quantity":"0.5","price":"20.01","pair":"XRPZAR","customerOrderId":"t-1"}'
        headers = {**auth_headers(CREDS, "POST", "/v1/orders/limit", text, "9"), "Content-Type": "application/json"}
        answer = httpx.post(sim.base_url + "/v1/orders/limit", content=text, headers=headers)
        assert answer.status_code == 202
        time.sleep(0.05)
        trade = sim.fill(answer.json()["id"], quantity=Decimal("0.2"))
        assert trade["quantity"] == "0.2" and trade["feeCurrency"] == "ZAR"
        sim.set_faults(rest_error={"status": 500, "count": 1})
        assert httpx.get(sim.base_url + "/v1/public/time").status_code == 500
        assert sim.truth()["orders"][0]["status"] == "Partially Filled"
        assert sim.counters()["rest"]["GET /v1/public/time"] == 1


def sigint_as_at_a_terminal() -> None:
    """Ctrl-C's default in the child: a suite started in the background by a script (`./dev test &`)
    runs with SIGINT ignored, and its children inherit that; the sim then never saw the SIGINT below."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_cli_prints_the_url_quickly_and_serves(tmp_path):
    env = {**os.environ, "VALR_API_KEY": KEY, "VALR_API_SECRET": SECRET}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "worker", "sim", "--port", "0", "--mode", "manual"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=sigint_as_at_a_terminal)
    try:
        line = proc.stdout.readline()
        ready_after = time.monotonic() - started
        assert line.startswith("VALR simulator ready at http://127.0.0.1:"), line
        assert SECRET not in line
        base_url = line.split()[4]
        assert ready_after < 5, f"took {ready_after:.2f}s"  # typically ~0.5 s, most of it imports
        answer = httpx.get(base_url + "/v1/orders/open", headers=auth_headers(CREDS, "GET", "/v1/orders/open"))
        assert answer.status_code == 200 and answer.json() == []
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()  # no simulator left behind by a failed run
            raise
    assert "listening on" in err and SECRET not in err
