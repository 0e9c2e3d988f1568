"""Registers the reservoir family's top-level commands (validate, dry-run, export-csv)."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.records import Command


@hookimpl
def synthkit_register_commands() -> list[Command]:
    from synthkit_reservoir.commands import app

    return [Command(name="reservoir", app=app, help="Water-reservoir scenarios.", top_level=True)]
