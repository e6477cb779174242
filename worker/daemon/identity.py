"""Which process this worker is, and whether another worker's process is still alive — the facts
only this host can give. What to do with them (take a dead worker's leases back, or wait) is decided
in SQL: worker_started and take_over_dead_workers (db/functions/50_sessions).

A pid proves a process gone only within one boot and one PID namespace (a container sees other
pids than its host), so each worker records both as its `pid_namespace`; None where they cannot be
read (not Linux): such a worker never takes over, nor is taken over, and its successor waits for
its leases to expire.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PID_NAMESPACE = Path("/proc/self/ns/pid")


def host() -> str:
    return socket.gethostname()


def pid_namespace() -> str | None:
    try:
        return f"{BOOT_ID.read_text().strip()}:{PID_NAMESPACE.stat().st_ino}"
    except OSError:
        return None


def pid_alive(pid: int | None) -> bool:
    """Whether a process of this pid exists here (another user's counts: it may be a worker). Our own
    pid is not the other worker's process: that one is gone, since we have its pid now."""
    if pid is None or pid <= 0:
        return True  # nothing to prove it gone
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
