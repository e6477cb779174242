"""Every `valr-monitor` verb, the module that defines it, and the extra it needs: the one place a
command is registered. cli.py's group reads this table and imports a verb's module only when that
verb is used (or listed by --help).

A lab verb (simulator, demo, bench, chaos) needs the `lab` extra; when it is not installed the verb
says, in one line, how to install it and exits 2 instead of failing on an import deep inside.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from importlib import metadata

import click

DISTRIBUTION = "valr-order-monitor"


@dataclass(frozen=True)
class Verb:
    name: str
    module: str  # defines one click command named like the verb
    extra: str | None = None


VERBS = [
    Verb("migrate", "worker.db.command"),
    Verb("run", "worker.daemon.command"),
    Verb("status", "worker.ops.commands"),
    Verb("metrics", "worker.ops.commands"),
    Verb("alerts", "worker.ops.commands"),
    Verb("orders", "worker.ops.commands"),
    Verb("poll", "worker.ops.commands"),
    Verb("cancel", "worker.ops.commands"),
    Verb("pairs", "worker.ops.pairs"),
    Verb("audit", "worker.ops.audit"),
    Verb("demo", "worker.lab.demo", extra="lab"),
    Verb("sim", "worker.lab.sim.cli", extra="lab"),
    Verb("bench", "worker.lab.bench.command", extra="lab"),
    Verb("chaos", "worker.lab.chaos.command", extra="lab"),
]
BY_NAME = {verb.name: verb for verb in VERBS}


def missing_from_extra(extra: str) -> list[str]:
    """The distributions the extra declares (in pyproject.toml) that are not installed."""
    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return []
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    names = [re.match(r"[A-Za-z0-9._-]+", req).group(0) for req in requires if marker.search(req)]
    missing = []
    for name in names:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def install_hint(verb: Verb, missing: list[str]) -> click.Command:
    """Stands in for a verb whose extra is missing: one line, exit 2 (a configuration error)."""
    line = (f"valr-monitor {verb.name} needs the {verb.extra} extra ({', '.join(missing)} not installed): "
            f"pip install '{DISTRIBUTION}[{verb.extra}]'")

    @click.command(name=verb.name, help=f"(needs the {verb.extra} extra: pip install '{DISTRIBUTION}[{verb.extra}]')",
                   add_help_option=False, context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def needs_extra(args: tuple[str, ...]) -> None:
        click.echo(line, err=True)
        sys.exit(2)

    return needs_extra


class VerbGroup(click.Group):
    """A click group over VERBS, loading each verb's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(BY_NAME)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        verb = BY_NAME.get(name)
        if verb is None:
            return None
        missing = missing_from_extra(verb.extra) if verb.extra else []
        if missing:
            return install_hint(verb, missing)
        return getattr(importlib.import_module(verb.module), verb.name)
