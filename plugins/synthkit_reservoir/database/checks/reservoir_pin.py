"""reservoir_pin: the attached reservoir is the scenario's reservoir_id pin."""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import PreflightCheck
from synthkit_reservoir.database.snapshot import DbSnapshot, device_check


def problem(d: Any, s: DbSnapshot) -> str | None:
    row = s.devices.get(d.device_id)
    if d.reservoir_id is None or row is None or row.reservoir_id in (None, d.reservoir_id):
        return None
    return f"attached to {row.reservoir_id}, the scenario pins {d.reservoir_id}"


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        device_check(
            "reservoir_pin",
            "the attached reservoir is the scenario's reservoir_id pin",
            problem,
            "re-attach the device, or update the scenario's reservoir_id (attachment drift)",
        )
    ]
