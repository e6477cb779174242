"""A lab child process that dies with the process that started it.

The demo, the chaos soak and the bench start workers (and helpers) in sessions of their own, so a
Ctrl-C reaches only the harness, which then stops them in order. But a harness that is itself killed
(SIGKILL, a test's timeout, an out-of-memory kill) left them running: a chaos run cut short once left
21 workers retrying against its gone database beside a recorded benchmark. So each is started through
this module, which asks Linux to SIGKILL it when its parent dies (PR_SET_PDEATHSIG) and then becomes
the real command (execv: same process, same pid).

PR_SET_PDEATHSIG follows the parent *thread* that forked: harnesses start their children from their
main thread. Elsewhere than Linux the command simply runs (no guard).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def guarded(command: list[str]) -> list[str]:
    """`command` run through the guard, on behalf of this process (its parent)."""
    return [sys.executable, "-m", "worker.lab.orphan_guard", str(os.getpid()), *command]


def _die_with_parent() -> None:
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except AttributeError:
        return  # not Linux: no guard
    if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    _die_with_parent()
    if os.getppid() != parent:
        sys.exit("orphan_guard: the parent exited before the guard was set")  # it would never fire
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
