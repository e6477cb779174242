"""The lab's workers die with the harness that started them, even when it is killed outright (a
chaos run cut short once left 21 workers retrying against its gone database)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from worker.lab.orphan_guard import guarded
from worker.lab.worker_process import wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def harness_script(command: list[str]) -> str:
    """A parent process that starts `command` as the lab does (a session of its own), guarded or
    bare (its argument), and prints the child's pid."""
    script = textwrap.dedent(f"""
        import subprocess, sys, time
        from worker.lab.orphan_guard import guarded
        child = subprocess.Popen({command!r} if sys.argv[1] == "bare" else guarded({command!r}),
                                 start_new_session=True)
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    return script


def run_and_kill_parent(mode: str) -> int:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    parent = subprocess.Popen([sys.executable, "-c", harness_script(sleeper), mode], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    wait_for(lambda: "time.sleep" in open(f"/proc/{child}/cmdline").read(), 10, "the child to become its command")
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    return child


def test_a_guarded_child_dies_when_its_parent_is_killed():
    child = run_and_kill_parent("guarded")
    wait_for(lambda: not alive(child), 10, "the guarded child to die with its parent")


def test_an_unguarded_child_outlives_its_parent_which_is_what_the_guard_is_for():
    child = run_and_kill_parent("bare")
    try:
        assert alive(child)
    finally:
        os.kill(child, signal.SIGKILL)


def test_the_guard_becomes_the_command_in_the_same_process():
    proc = subprocess.Popen(guarded([sys.executable, "-c", "import os, sys; print(os.getpid()); sys.exit(3)"]),
                            stdout=subprocess.PIPE, text=True)
    assert int(proc.stdout.readline()) == proc.pid and proc.wait() == 3
