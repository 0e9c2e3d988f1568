"""Registers the ``stationary_tank`` device model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synthkit import hookimpl
from synthkit.api import DeviceModel, FaultParams, FaultType
from synthkit_reservoir.family import NAME
from synthkit_reservoir.layout import RAW, specs

# what the simulator's emit() returns, each column written the reservoir layout's way
COLUMNS = specs(
    "liters",
    "level_pct",
    "inflow_liters",
    "outflow_liters",
    "distance_mm",
    "temperature_c",
    "battery_percentage",
    "signal_strength_dbm",
    RAW,
)


@hookimpl
def synthkit_register_device_models() -> list[DeviceModel]:
    # parameters (pydantic) and kernels load when a scenario needs the model, not at start-up
    from synthkit_reservoir.models.stationary.params import StationaryTankParams

    return [
        DeviceModel(
            name="stationary_tank",
            mode="STATIONARY",
            factory=_fleet,
            parameters=StationaryTankParams,
            family=NAME,
            columns=COLUMNS,
            description="a tank drawn down by hourly/weekday demand, topped up by supply events",
        )
    ]


def _fleet(devices, seed, step_seconds):
    """The model's simulator; its compiled kernels load only when a run needs them."""
    from synthkit_reservoir.models.stationary.model import StationaryFleet

    return StationaryFleet(devices, seed, step_seconds)


# faults in the tank's physics: name -> (class in .faults, parameter model or None, what)
FAULTS = {
    "leak": ("Leak", "LeakParams", "water lost from the tank, unmetered: the level falls faster"),
    "stuck_valve": ("StuckValve", None, "the refill valve stuck shut: refills deliver nothing"),
    "battery_drain": (
        "BatteryDrain",
        "BatteryDrainParams",
        "the battery drains until the device shuts down, then recharges",
    ),
}


@hookimpl
def synthkit_register_fault_types() -> list[FaultType]:
    """Faults in the tank's physics (the code and kernels load when a scenario names one)."""
    from synthkit_reservoir.models.stationary import fault_params

    return [
        FaultType(
            name,
            _fault(cls),
            getattr(fault_params, model) if model else FaultParams,
            group="device",
            families=(NAME,),
            description=what,
        )
        for name, (cls, model, what) in FAULTS.items()
    ]


def _fault(cls: str) -> Callable[[Any], Any]:
    def factory(params: Any) -> Any:
        from synthkit_reservoir.models.stationary import faults

        return getattr(faults, cls)(params)

    return factory
