"""Faithfulness check: the off-the-shelf third-party client valr-python 0.2.7 (from PyPI, in its own
virtual environment) works against the simulator — its REST client places a limit order and reads
its status, its account WebSocket client receives the order's events.

Two things around the client (not in it) are set for loopback: its WebSocket URL is a class constant
pointing at wss://api.valr.com, so the script points the instance at the simulator; and it always
passes ssl=True, which websockets refuses for a ws:// URL, so the script drops that argument for ws://.
It was written against the websockets API before 14 (extra_headers), so its venv gets websockets<14."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import venv
from pathlib import Path

import pytest

from worker.lab.sim import SimConfig, SimulatorThread
from worker.lab.sim.testing import KEY, SECRET

SCRIPT = textwrap.dedent('''
    import asyncio, json, sys, warnings
    from decimal import Decimal
    import requests, websockets
    from valr_python import Client, WebSocketClient

    base_url, key, secret = sys.argv[1:4]
    _connect = websockets.connect
    def connect(uri, *args, **kwargs):
        if uri.startswith("ws://"):
            kwargs.pop("ssl", None)
        return _connect(uri, *args, **kwargs)
    websockets.connect = connect

    seen = []
    ready = asyncio.Event()
    done = asyncio.Event()

    def hook(data):
        seen.append(data)
        if data["type"] == "OPEN_ORDERS_UPDATE":
            ready.set()
        if data["type"] == "ORDER_STATUS_UPDATE" and data["data"]["orderStatusType"] == "Filled":
            done.set()

    events = ["BALANCE_UPDATE", "OPEN_ORDERS_UPDATE", "ORDER_PROCESSED", "ORDER_STATUS_UPDATE",
              "NEW_ACCOUNT_TRADE", "FAILED_CANCEL_ORDER", "NEW_ACCOUNT_HISTORY_RECORD"]
    ws = WebSocketClient(api_key=key, api_secret=secret, hooks={e: hook for e in events}, ws_type="account")
    ws._uri = base_url.replace("http://", "ws://") + "/ws/account"
    rest = Client(api_key=key, api_secret=secret, base_url=base_url)

    def place_and_read():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # IncompleteOrderWarning: 202 Accepted
            placed = rest.post_limit_order(side="SELL", quantity=Decimal("0.0003"), price=Decimal("1149500"),
                                           pair="BTCZAR", post_only=True, customer_order_id="valr-python-1")
        status = rest.get_order_status("BTCZAR", order_id=placed["id"])
        by_cid = rest.get_order_status("BTCZAR", customer_order_id="valr-python-1")
        requests.post(base_url + "/_sim/fill", json={"orderId": placed["id"], "quantity": "0.0001"}).raise_for_status()
        requests.post(base_url + "/_sim/fill", json={"orderId": placed["id"]}).raise_for_status()
        return placed, status, by_cid

    async def main():
        listener = asyncio.ensure_future(ws.run())
        await asyncio.wait_for(ready.wait(), 10)
        placed, status, by_cid = await asyncio.get_running_loop().run_in_executor(None, place_and_read)
        await asyncio.wait_for(done.wait(), 10)
        listener.cancel()
        print(json.dumps({"placed": placed, "status": status, "by_cid": by_cid,
                          "events": [[d["type"], d["data"].get("orderStatusType") if isinstance(d["data"], dict) else None]
                                     for d in seen]}))

    asyncio.run(main())
''')

UNREACHABLE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
               "ConnectTimeout", "Max retries exceeded", "No matching distribution found")


@pytest.fixture(scope="module")
def valr_python(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("valr-python-venv")
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "valr-python==0.2.7", "websockets<14"],
        capture_output=True, text=True, timeout=300)
    if install.returncode != 0:
        if any(marker in install.stderr for marker in UNREACHABLE):
            pytest.skip(f"PyPI unreachable, cannot install valr-python 0.2.7: {install.stderr[-300:]}")
        raise AssertionError(f"pip install valr-python failed:\n{install.stderr}")
    return python


def test_valr_python_rest_and_account_websocket_work_unchanged(valr_python, tmp_path):
    script = tmp_path / "use_valr_python.py"
    script.write_text(SCRIPT)
    with SimulatorThread(KEY, SECRET, config=SimConfig()) as sim:
        result = subprocess.run([str(valr_python), str(script), sim.base_url, KEY, SECRET],
                                capture_output=True, text=True, timeout=60,
                                env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        assert result.returncode == 0, result.stderr[-3000:]
        out = json.loads(result.stdout.strip().splitlines()[-1])
        counters = sim.counters()
    placed, status = out["placed"], out["status"]
    assert set(placed) == {"id", "customerOrderId"} and placed["customerOrderId"] == "valr-python-1"
    assert status["orderId"] == placed["id"] and status["orderStatusType"] == "Placed"
    assert status["orderType"] == "post-only limit" and status["originalQuantity"] == "0.0003"
    assert out["by_cid"]["orderId"] == placed["id"]
    kinds = [kind for kind, _ in out["events"]]
    assert kinds[:8] == ["BALANCE_UPDATE"] * 7 + ["OPEN_ORDERS_UPDATE"]
    # Each fill also moves balances and writes an account history record (the official client hooks it).
    account_records = ("BALANCE_UPDATE", "NEW_ACCOUNT_HISTORY_RECORD")
    assert {kind for kind in kinds[8:]} >= set(account_records)
    order_events = [e for e in out["events"][8:] if e[0] not in account_records][:8]  # a last OPEN_ORDERS_UPDATE may follow Filled
    assert order_events == [["ORDER_PROCESSED", None], ["ORDER_STATUS_UPDATE", "Placed"], ["OPEN_ORDERS_UPDATE", None],
                            ["NEW_ACCOUNT_TRADE", None], ["ORDER_STATUS_UPDATE", "Partially Filled"],
                            ["OPEN_ORDERS_UPDATE", None], ["NEW_ACCOUNT_TRADE", None],
                            ["ORDER_STATUS_UPDATE", "Filled"]]
    assert counters["rest"]["POST /v1/orders/limit"] == 1 and counters["ws_connections"] == 1
