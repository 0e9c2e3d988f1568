"""Registers the ``mobile_truck`` device model."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.records import DeviceModel

from synthkit_model_mobile.params import MobileTruckParams


@hookimpl
def synthkit_register_device_models() -> list[DeviceModel]:
    from synthkit_model_mobile.model import MobileFleet

    return [
        DeviceModel(
            name="mobile_truck",
            mode="MOBILE",
            factory=MobileFleet,
            parameters=MobileTruckParams,
            description="a water truck refilling at REFILL points and delivering to CLIENTs",
        )
    ]
