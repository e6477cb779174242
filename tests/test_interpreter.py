"""A virtual environment built from a Python only its owner can reach (one under /root) breaks the
service user with a bare "Permission denied": `migrate` and `run` say it in one line, naming the path."""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from worker import interpreter, logs
from worker.cli import main


@pytest.fixture
def open_dir():
    """A directory every user may enter (pytest's tmp_path sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="interpreter-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def venv_python(base: Path, home_mode: int) -> tuple[Path, Path]:
    """A venv's bin/python linking to an interpreter inside a home directory of the given mode."""
    home = base / "root"
    (home / "bin").mkdir(parents=True)
    real = home / "bin" / "python3.11"
    real.write_text("")
    real.chmod(0o755)
    home.chmod(home_mode)
    (base / "venv" / "bin").mkdir(parents=True)
    link = base / "venv" / "bin" / "python"
    link.symlink_to(real)
    return home, link


def test_a_python_behind_a_closed_directory_is_named(open_dir, monkeypatch):
    home, link = venv_python(open_dir, 0o700)
    monkeypatch.setattr(sys, "executable", str(link))
    line = interpreter.others_cannot_run()
    assert line is not None and f"{home} (mode 0700)" in line and "Permission denied" in line


def test_a_python_every_user_may_run_passes(open_dir):
    _, link = venv_python(open_dir, 0o755)
    assert interpreter.unreachable(link, interpreter.EXECUTE) is None
    (link.resolve()).chmod(0o700)  # the interpreter itself closed to others
    assert interpreter.unreachable(link, interpreter.EXECUTE) == f"{link.resolve()} (mode 0700)"


def test_migrate_says_it_in_one_line(open_dir, monkeypatch):
    home, link = venv_python(open_dir, 0o700)
    monkeypatch.setattr(sys, "executable", str(link))
    # An unreachable database: migrate stops after its first lines, which is all this needs.
    result = CliRunner().invoke(main, ["migrate", "--database-url", "postgresql://u@127.0.0.1:1/none"])
    warnings = [line for line in result.output.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and f"{home} (mode 0700)" in warnings[0]


def test_the_install_step_says_it_on_stderr(open_dir, monkeypatch, capsys):
    home, link = venv_python(open_dir, 0o700)
    monkeypatch.setattr(sys, "executable", str(link))
    interpreter.main()
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("warning: other users") and f"{home} (mode 0700)" in err


@pytest.fixture
def logging_restored(monkeypatch):
    """`run` configures the process's logging and registers its secrets: undone after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(logs, "_SECRETS", set())
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_run_says_it_in_one_log_line(open_dir, monkeypatch, logging_restored):
    home, link = venv_python(open_dir, 0o700)
    monkeypatch.setattr(sys, "executable", str(link))

    class Stopped:  # the worker itself is not what this is about: it stops at once
        def __init__(self, settings):
            pass

        async def run(self):
            return 0

    monkeypatch.setattr("worker.daemon.runner.Runner", Stopped)
    result = CliRunner().invoke(main, ["run", "--database-url", "postgresql://u@127.0.0.1:1/none"],
                                env={"VALR_API_KEY": "key-of-test", "VALR_API_SECRET": "secret-of-test"})
    lines = [line for line in result.output.splitlines() if "cannot run this Python" in line]
    assert result.exit_code == 0 and len(lines) == 1 and f"{home} (mode 0700)" in lines[0]
