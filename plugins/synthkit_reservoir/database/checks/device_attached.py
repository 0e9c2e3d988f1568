"""device_attached: the device is attached to a reservoir."""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import PreflightCheck
from synthkit_reservoir.database.snapshot import DbSnapshot, device_check


def problem(d: Any, s: DbSnapshot) -> str | None:
    row = s.devices.get(d.device_id)
    return "not attached to a reservoir" if row is not None and row.reservoir_id is None else None


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        device_check(
            "device_attached",
            "the device is attached to a reservoir",
            problem,
            "`synthkit --scenario FILE db register` attaches the scenario's detached devices (the simulator requires attached ones)",
        )
    ]
