"""capacity_positive: the attached reservoir's capacity_liters > 0."""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import PreflightCheck
from synthkit_reservoir.database.snapshot import DbSnapshot, attached_reservoir, device_check


def problem(d: Any, s: DbSnapshot) -> str | None:
    r = attached_reservoir(d, s)
    if r is None or (r.capacity_liters or 0) > 0:
        return None
    return f"reservoir {r.reservoir_id} has capacity_liters {r.capacity_liters}"


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        device_check(
            "capacity_positive",
            "the attached reservoir's capacity_liters > 0",
            problem,
            "set a positive capacity_liters on the reservoir",
        )
    ]
