"""Registers the verbs that live in other modules, so cli.py stays a table of contents.

Each entry is (module, attribute): the module defines one click command. Imports are lazy-safe:
a verb's module is imported here, but heavy imports belong inside the command function.
"""

from __future__ import annotations

import importlib

import click

VERBS = [
    ("worker.tools.demo", "demo"),
    ("worker.sim.cli", "sim"),
    ("worker.daemon.command", "run"),
    ("worker.tools.ops_commands", "status"),
    ("worker.tools.ops_commands", "metrics"),
    ("worker.tools.ops_commands", "alerts"),
    ("worker.tools.ops_commands", "poll"),
    ("worker.tools.ops_commands", "cancel"),
    ("worker.tools.ops_commands", "orders"),
    ("worker.tools.chaos", "chaos"),
    ("worker.tools.bench", "bench"),
]


def register(group: click.Group) -> None:
    for module_name, attr in VERBS:
        group.add_command(getattr(importlib.import_module(module_name), attr))
