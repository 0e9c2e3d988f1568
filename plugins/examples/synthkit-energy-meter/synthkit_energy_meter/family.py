"""The energy_meter family: its one mode, its scenario section and its ticks.

It has no commands of its own: its meters emit on a fixed interval, so it declares its
ticks and synthkit's own ``validate``, ``dry-run``, ``export``, ``live``, ``reconcile`` and
``replay`` run it.

The family's contract with its device models: ``DeviceModel(family="energy_meter",
mode="GRID")`` whose ``factory(meter_ids, params, seed, interval_s)`` returns an object with
``emit(first_interval, intervals, origin_s) -> dict[str, ndarray]``: one row per (interval,
meter), interval-major, holding at least ``power_kw`` and ``voltage_v``.
"""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Family

NAME = "energy_meter"
MODE = "GRID"
REQUIRED_COLUMNS = ("power_kw", "voltage_v")


def _load(path, plugins):  # the schema loads when a command reads a scenario
    from synthkit_energy_meter.scenario import load_meters

    return load_meters(path, plugins)


def _ticks(loaded, first_seqs, origin_s):  # the model loads when a command runs
    from synthkit.api import ModelTicks

    return ModelTicks(loaded, first_seqs, origin_s, stream_column="meter_id")


@hookimpl
def synthkit_register_families() -> list[Family]:
    return [
        Family(
            NAME,
            (MODE,),
            description="smart electricity meters: load profiles, energy registers, voltage",
            # what synthkit's own commands need: the scenario section it reads and its
            # loader (validate), and its meters on ticks (export, live, dry-run, replay)
            section="energy_meter",
            load=_load,
            ticks=_ticks,
            topic="meters/{meter_id}/readings",
            stream_column="meter_id",
        )
    ]
