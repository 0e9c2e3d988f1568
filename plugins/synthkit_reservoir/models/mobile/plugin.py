"""Registers the ``mobile_truck`` device model."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import DeviceModel
from synthkit_reservoir.family import NAME
from synthkit_reservoir.layout import RAW, specs

# what the simulator's emit() returns, each column written the reservoir layout's way
COLUMNS = specs(
    "latitude",
    "longitude",
    "speed_kmh",
    "liters",
    "level_pct",
    "inflow_liters",
    "outflow_liters",
    "loss_liters",
    "distance_km",
    "distance_mm",
    "temperature_c",
    "battery_percentage",
    "signal_strength_dbm",
    "point_id",
    RAW,
)


@hookimpl
def synthkit_register_device_models() -> list[DeviceModel]:
    # parameters (pydantic) and kernels load when a scenario needs the model, not at start-up
    from synthkit_reservoir.models.mobile.params import MobileTruckParams

    return [
        DeviceModel(
            name="mobile_truck",
            mode="MOBILE",
            factory=_fleet,
            parameters=MobileTruckParams,
            family=NAME,
            columns=COLUMNS,
            description="a water truck refilling at REFILL points and delivering to CLIENTs",
        )
    ]


def _fleet(devices, seed, step_seconds):
    """The model's simulator; its compiled kernels load only when a run needs them."""
    from synthkit_reservoir.models.mobile.model import MobileFleet

    return MobileFleet(devices, seed, step_seconds)
