"""The open-files limit: one socket per watched subaccount, plus the database pool and REST.

systemd and most shells start a process with a soft RLIMIT_NOFILE of 1,024 and a much higher hard
limit (systemd's LimitNOFILE= sets both; contrib/valr-monitor.service asks for 65,536). A process may
raise its own soft limit up to the hard one without privilege, so the worker does that at start
rather than failing at the 1,000th socket.
"""

from __future__ import annotations

import resource

# Linux refuses an infinite RLIMIT_NOFILE; when the hard limit says "unlimited", ask for this.
UNLIMITED_TARGET = 1_048_576


def raise_file_limit() -> int:
    """Lift the soft open-files limit to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # e.g. above the kernel's nr_open: keep what we have
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
