"""One way to register a command (worker/commands.py VERBS) and one definition of the options every
command shares (worker/options.py): `--database-url` and `--json`."""

from __future__ import annotations

import re
from pathlib import Path

import click

from worker.cli import main
from worker.commands import VERBS

WORKER = Path(__file__).resolve().parents[1] / "worker"


def test_every_verb_of_the_table_is_a_command_of_that_name_and_nothing_else_is_registered():
    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted(v.name for v in VERBS)
    for verb in VERBS:
        command = main.get_command(ctx, verb.name)
        assert isinstance(command, click.Command) and command.name == verb.name
    assert main.get_command(ctx, "no-such-verb") is None


def test_common_options_are_defined_once_in_worker_options():
    inline = []
    for path in WORKER.rglob("*.py"):
        if path.name == "options.py" and path.parent == WORKER:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"""click\.option\(\s*["'](--database-url|--json)["']""", line):
                inline.append(f"{path.relative_to(WORKER)}:{n}")
    assert inline == []


def test_commands_that_take_the_common_options_share_their_spelling():
    ctx = click.Context(main)
    seen = {"--database-url": set(), "--json": set()}
    for verb in VERBS:
        for param in main.get_command(ctx, verb.name).params:
            for opt in param.opts:
                if opt in seen:
                    seen[opt].add((param.name, getattr(param, "metavar", None), getattr(param, "is_flag", None)))
    assert seen["--database-url"] == {("database_url", "URL", False)}
    assert seen["--json"] == {("as_json", None, True)}
