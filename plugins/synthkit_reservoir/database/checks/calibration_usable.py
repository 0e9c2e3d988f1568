"""calibration_usable: the attached reservoir has a usable calibration."""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import PreflightCheck
from synthkit_reservoir.database.snapshot import DbSnapshot, attached_reservoir, device_check


def problem(d: Any, s: DbSnapshot) -> str | None:
    from synthkit_reservoir.calibration import Calibration  # pydantic: loaded when the check runs

    r = attached_reservoir(d, s)
    if r is None:
        return None
    try:
        Calibration.resolve(
            r.capacity_liters or 1.0,
            r.height_mm,
            r.sensor_empty_distance_mm,
            r.sensor_full_distance_mm,
        )
    except ValueError:
        return f"missing calibration on reservoir {r.reservoir_id}"
    return None


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        device_check(
            "calibration_usable",
            "the attached reservoir has a usable calibration",
            problem,
            "ensure the reservoir has sensor calibration fields (empty > full distance) or a positive height_mm",
        )
    ]
