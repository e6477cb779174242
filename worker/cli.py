"""`valr-monitor`: the command group. The verbs are listed in worker/commands.py and loaded on use."""

from __future__ import annotations

import click

from worker.commands import VerbGroup


@click.group(cls=VerbGroup)
@click.version_option(package_name="valr-order-monitor")
def main() -> None:
    """Place VALR limit orders and follow each to its end, with PostgreSQL deciding every step."""
