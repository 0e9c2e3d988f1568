"""device_exists: the device is registered."""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import PreflightCheck
from synthkit_reservoir.database.snapshot import DbSnapshot, device_check


def problem(d: Any, s: DbSnapshot) -> str | None:
    return None if d.device_id in s.devices else "device not found"


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        device_check(
            "device_exists",
            "the device is registered",
            problem,
            "verify device_id exists in devices and is uppercase in the scenario; `synthkit --scenario ... db register` creates it",
        )
    ]
