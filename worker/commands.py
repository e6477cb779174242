"""Registers the verbs that live in other modules, so cli.py stays a table of contents.

Each entry is (module, attribute): the module defines one click command. Imports are lazy-safe:
a verb's module is imported here, but heavy imports belong inside the command function.
"""

from __future__ import annotations

import importlib

import click

VERBS = [
    ("worker.lab.demo", "demo"),
    ("worker.lab.sim.cli", "sim"),
    ("worker.daemon.command", "run"),
    ("worker.ops.commands", "status"),
    ("worker.ops.commands", "metrics"),
    ("worker.ops.commands", "alerts"),
    ("worker.ops.commands", "poll"),
    ("worker.ops.commands", "cancel"),
    ("worker.ops.commands", "orders"),
    ("worker.lab.chaos.command", "chaos"),
    ("worker.lab.bench.command", "bench"),
]


def register(group: click.Group) -> None:
    for module_name, attr in VERBS:
        group.add_command(getattr(importlib.import_module(module_name), attr))
