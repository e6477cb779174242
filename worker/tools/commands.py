"""Registers the verbs that live in other modules, so cli.py stays a table of contents.

Each entry is (module, attribute): the module defines one click command. Imports are lazy-safe:
a verb's module is imported here, but heavy imports belong inside the command function.
"""

from __future__ import annotations

import importlib

import click

VERBS = [
    ("worker.tools.embedded_demo", "demo"),
    ("worker.sim.cli", "sim"),
    ("worker.daemon.command", "run"),
]


def register(group: click.Group) -> None:
    for module_name, attr in VERBS:
        group.add_command(getattr(importlib.import_module(module_name), attr))
