"""The package as a user installs it: a wheel built from this checkout, installed (not editable) into
a fresh virtual environment outside the source tree. Shared by the wheel test and the deploy test."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would let the source tree leak into the install."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VALR_MONITOR_DB_DIR", "DATABASE_URL", "VIRTUAL_ENV"}
           and not k.startswith(("VALR_", "PG"))}
    return env | extra


# What a source distribution of the project holds (a build from the checkout itself would leave
# build/ behind, whose stale copies of deleted files setuptools would ship in the next wheel).
SOURCES = ["pyproject.toml", "setup.py", "README.md", "worker", "db"]


@functools.cache
def built_wheel() -> Path:
    """`pip wheel` of a clean copy of this checkout (isolated build, as pip does for a user), once
    per test run."""
    out = Path(tempfile.mkdtemp(prefix="valr-wheel-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    source = out / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
        check=True, capture_output=True, text=True, env=clean_env(), cwd=out, timeout=300,
    )
    (wheel,) = out.glob("valr_order_monitor-*.whl")
    return wheel


def fresh_venv(path: Path) -> Path:
    """An empty virtual environment (no system site-packages); returns its bin/ directory."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True, timeout=120)
    return path / "bin"
