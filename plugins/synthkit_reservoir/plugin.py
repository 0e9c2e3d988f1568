"""Registers the reservoir family (its modes) and its top-level commands (validate, dry-run,
export/analyze/import CSV, bootstrap, run)."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Command, Family
from synthkit_reservoir.family import FAMILY


@hookimpl
def synthkit_register_families() -> list[Family]:
    return [FAMILY]


@hookimpl
def synthkit_register_commands() -> list[Command]:
    from synthkit_reservoir import commands, commands_ingest

    return [
        Command(
            name="reservoir", app=commands.app, help="Water-reservoir scenarios.", top_level=True
        ),
        Command(
            name="reservoir_ingest",
            app=commands_ingest.app,
            help="Water-reservoir rows into an ingest sink.",
            top_level=True,
        ),
    ]
