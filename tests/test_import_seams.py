"""The seams stay cut: the simulator's modules import one another at the top (no import inside a
function to dodge a cycle, so a cycle would fail at import), and no part of the daemon but the runner's
command sees the Runner (the price watch and the timers get a WatchContext, a session a SessionContext)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAZY_BY_DESIGN = {"cli.py"}  # a command imports what it runs on use: the CLI starts light


def imported(path: Path, *, nested_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))] \
        if nested_only else [tree]
    return {node.module for scope in scopes for node in ast.walk(scope)
            if isinstance(node, ast.ImportFrom) and node.module}


def test_simulator_modules_import_each_other_only_at_the_top():
    late = {path.name: sorted(m for m in imported(path, nested_only=True) if m.startswith("worker.lab.sim"))
            for path in (ROOT / "worker/lab/sim").glob("*.py") if path.name not in LAZY_BY_DESIGN}
    assert {name: mods for name, mods in late.items() if mods} == {}


def test_only_the_run_command_imports_the_runner():
    users = {path.name for path in (ROOT / "worker/daemon").glob("*.py")
             if path.name != "runner.py" and "worker.daemon.runner" in imported(path, nested_only=False)}
    assert users == {"command.py"}


def test_a_worker_starts_without_importing_ccxt():
    """ccxt (every exchange it supports, 2-4 s to import on the 2-core machine) is imported only where an
    account on an exchange reached through it needs it: the worker's start, run by every end-to-end test
    and by systemd on every restart, does not pay for it."""
    code = ("import sys, worker.cli, worker.daemon.command, worker.daemon.runner, worker.daemon.session; "
            "print(sorted({m for m in sys.modules if m.split('.')[0] == 'ccxt'} & {'ccxt', 'ccxt.pro'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
