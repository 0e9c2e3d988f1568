"""Registers the telematics driver model and the ``synthkit telematics`` command group."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.records import Command, DeviceModel


@hookimpl
def synthkit_register_device_models() -> list[DeviceModel]:
    from synthkit_telematics.generator import TelematicsGenerator

    return [
        DeviceModel(
            name="telematics_driver",
            mode="DRIVER",
            factory=TelematicsGenerator,
            description="drivers on trips; one event per driving minute, typed by event plugins",
        )
    ]


@hookimpl
def synthkit_register_commands() -> list[Command]:
    from synthkit_telematics.commands import app

    return [Command(name="telematics", app=app, help="Telematics mock events (drivers, trips, events).")]
