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
DEFAULT_TOPIC = "meters/{meter_id}/readings"  # a live run's, and its replay's


def _load(path, plugins):  # the schema loads when a command reads a scenario
    from synthkit_energy_meter.scenario import load_meters

    return load_meters(path, plugins)


def _replay(record, plugins):
    from synthkit_energy_meter.replay import MeterReplayer

    return MeterReplayer(record, plugins)


def _preview(loaded, start_s, steps, state_file):
    from synthkit_energy_meter.fleet import preview

    return preview(loaded, start_s, steps, state_file)


@hookimpl
def synthkit_register_families() -> list[Family]:
    return [
        Family(
            NAME,
            (MODE,),
            description="smart electricity meters: load profiles, energy registers, voltage",
            # what synthkit validate and dry-run read: scenarios with an energy_meter section
            section="energy_meter",
            load=_load,
            preview=_preview,
            replay=_replay,
            stream_column="meter_id",
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
