"""Ctrl-C and SIGTERM end a long command the same way: the command's own `finally` blocks stop and
remove everything it started, then one line on stderr and exit status 130."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import Iterator

import click


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def exit_cleanly_on_interrupt(message: str = "interrupted: everything started was stopped and removed"
                              ) -> Iterator[None]:
    signal.signal(signal.SIGTERM, _raise_interrupt)  # a SIGTERM cleans up like Ctrl-C
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"\n{message}", err=True)
        sys.exit(130)
