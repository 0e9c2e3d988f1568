"""Registers the ``stationary_tank`` device model."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.records import DeviceModel


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
            description="a tank drawn down by hourly/weekday demand, topped up by supply events",
        )
    ]


def _fleet(devices, seed, step_seconds):  # noqa: ANN001, ANN202
    """The model's simulator; its compiled kernels load only when a run needs them."""
    from synthkit_reservoir.models.stationary.model import StationaryFleet

    return StationaryFleet(devices, seed, step_seconds)
