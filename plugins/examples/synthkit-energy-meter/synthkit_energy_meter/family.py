"""The energy_meter family: its one mode, and the ``synthkit meter`` commands.

The family's contract with its device models: ``DeviceModel(family="energy_meter",
mode="GRID")`` whose ``factory(meter_ids, params, seed, interval_s)`` returns an object with
``emit(first_interval, intervals, origin_s) -> dict[str, ndarray]``: one row per (interval,
meter), interval-major, holding at least ``power_kw`` and ``voltage_v``.
"""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Command, Family

NAME = "energy_meter"
MODE = "GRID"
REQUIRED_COLUMNS = ("power_kw", "voltage_v")


@hookimpl
def synthkit_register_families() -> list[Family]:
    return [
        Family(
            NAME,
            (MODE,),
            description="smart electricity meters: load profiles, energy registers, voltage",
        )
    ]


@hookimpl
def synthkit_register_commands() -> list[Command]:
    from synthkit_energy_meter.commands import app  # typer and the engine load when a command runs

    return [
        Command(
            name="meter",
            app=app,
            help="Smart electricity meter fleets (the energy-meter example family).",
            panel="Energy meters (example)",
        )
    ]
