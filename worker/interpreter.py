"""Whether users other than this one can run this installation: `postgres` runs `migrate` and the
service user runs `run` (the README's deploy), but a virtual environment built as root from a Python
under /root (pyenv, a hand build) links its bin/python to a file only root can reach. The service
then fails with a bare "Permission denied" from systemd, before any of our code runs; right after the
install (`python -m worker.interpreter`), `migrate` and `run` say it in one line while they still can
(run by whoever built it): a warning, not a refusal, since the one running them can.

Mode bits only ("others"): the service user is rarely the owner or in the group, and a warning that
names the path costs less than the bare error it prevents.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

EXECUTE, READ = stat.S_IXOTH, stat.S_IROTH | stat.S_IXOTH


def unreachable(path: Path, need: int) -> str | None:
    """The first of the path's directories, or the path itself, that others cannot reach as needed
    (search on every directory; `need` on the path itself), described with its mode; else None."""
    path = Path(os.path.realpath(path))
    for step, wanted in [*((parent, EXECUTE) for parent in reversed(path.parents)), (path, need)]:
        try:
            mode = step.stat().st_mode
        except OSError:
            return None  # not ours to judge: whatever is missing fails on its own, with its own message
        if mode & wanted != wanted:
            return f"{step} (mode {stat.S_IMODE(mode):04o})"
    return None


def installation_paths() -> list[tuple[Path, int]]:
    """What another user needs: the interpreter the venv links to, its standard library, this package."""
    return [(Path(sys.executable), EXECUTE), (Path(os.__file__).parent, READ), (Path(__file__).parent, READ)]


def others_cannot_run() -> str | None:
    """One line saying other users cannot run this installation and why, or None when they can."""
    for path, need in installation_paths():
        blocked = unreachable(path, need)
        if blocked:
            return (f"other users (postgres, the service user) cannot run this Python ({sys.executable}): "
                    f"{blocked} is closed to them, so they fail with 'Permission denied'; build the virtual "
                    "environment from a Python every user can run (e.g. /usr/bin/python3 -m venv)")
    return None


def main() -> None:
    """`python -m worker.interpreter`, right after installing (the README's deploy): a warning line on
    stderr when other users cannot run this installation, nothing otherwise; exit 0 either way."""
    if closed := others_cannot_run():
        print(f"warning: {closed}", file=sys.stderr)


if __name__ == "__main__":
    main()
