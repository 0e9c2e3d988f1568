"""Registers the ``stationary_tank`` device model."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.records import DeviceModel

from synthkit_model_stationary.params import StationaryTankParams


@hookimpl
def synthkit_register_device_models() -> list[DeviceModel]:
    from synthkit_model_stationary.model import StationaryFleet

    return [
        DeviceModel(
            name="stationary_tank",
            mode="STATIONARY",
            factory=StationaryFleet,
            parameters=StationaryTankParams,
            description="a tank drawn down by hourly/weekday demand, topped up by supply events",
        )
    ]
