"""synthkit's built-in fault types for any family: what a sensor reports wrong (stuck_at,
drift, spike, noise_burst, offset, saturation, freeze), what the device does wrong
(clock_skew, gps_jump, gps_freeze) and
what delivery does wrong (malformed, drop, dropout, duplicate, late, out_of_order, burst).
A scenario names them in its ``faults:`` block (docs/faults.md). Registering them loads only
their parameter models; a fault's code loads when a scenario names it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from synthkit import hookimpl
from synthkit.api import FaultParams, FaultType

# name -> (group, module.class, parameter model name or None, description)
TYPES = {
    "stuck_at": ("sensor", "values.StuckAt", "StuckParams", "the sensor reads one value"),
    "drift": ("sensor", "values.Drift", "DriftParams", "a reading off by per_day more each day"),
    "spike": ("sensor", "values.Spike", "SpikeParams", "a share of readings multiplied"),
    "noise_burst": ("sensor", "values.NoiseBurst", "NoiseParams", "Gaussian noise added"),
    "offset": ("sensor", "values.Offset", "OffsetParams", "a calibration offset and gain error"),
    "saturation": (
        "sensor",
        "values.Saturation",
        "SaturationParams",
        "readings past a ceiling or floor read it",
    ),
    "freeze": (
        "sensor",
        "values.Freeze",
        "FreezeParams",
        "the reading stops updating: it holds what it read when the window opened",
    ),
    "clock_skew": (
        "device",
        "device.ClockSkew",
        "ClockSkewParams",
        "the device clock off by offset_ms, growing per_day_ms a day",
    ),
    "gps_jump": (
        "device",
        "device.GpsJump",
        "GpsJumpParams",
        "a share of position fixes land km away",
    ),
    "gps_freeze": (
        "device",
        "values.GpsFreeze",
        "GpsFreezeParams",
        "the position fix freezes while the vehicle moves on",
    ),
    "malformed": (
        "delivery",
        "values.Malformed",
        "MalformedParams",
        "a field left out or out of range, for rejection paths",
    ),
    "drop": ("delivery", "delivery.Drop", "DropParams", "a share of records never arrive"),
    "dropout": ("device", "delivery.Dropout", None, "the device sends nothing through the window"),
    "duplicate": (
        "delivery",
        "delivery.Duplicate",
        "DuplicateParams",
        "records delivered again (every Nth seq or a share)",
    ),
    "late": ("delivery", "delivery.Late", "LateParams", "records held back, then delivered"),
    "out_of_order": (
        "delivery",
        "delivery.OutOfOrder",
        "OutOfOrderParams",
        "a share of records overtaken by later ones",
    ),
    "burst": (
        "delivery",
        "delivery.Burst",
        None,
        "an outage's backlog sent at once when the window closes",
    ),
}


def _lazy(where: str) -> Callable[[Any], Any]:
    """A factory that imports the fault's module when a scenario first names it."""
    module, cls = where.rsplit(".", 1)

    def factory(params: FaultParams) -> Any:
        return getattr(importlib.import_module(f"synthkit_faults.{module}"), cls)(params)

    return factory


@hookimpl
def synthkit_register_fault_types() -> list[FaultType]:
    from synthkit_faults import params

    return [
        FaultType(
            name,
            _lazy(where),
            getattr(params, model) if model else FaultParams,
            group=group,
            description=what,
        )
        for name, (group, where, model, what) in TYPES.items()
    ]
