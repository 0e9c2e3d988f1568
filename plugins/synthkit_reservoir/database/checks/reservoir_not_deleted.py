"""reservoir_not_deleted: the attached reservoir is not deleted."""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import PreflightCheck
from synthkit_reservoir.database.snapshot import DbSnapshot, attached_reservoir, device_check


def problem(d: Any, s: DbSnapshot) -> str | None:
    r = attached_reservoir(d, s)
    if r is None or r.deleted_at is None:
        return None
    return f"reservoir {r.reservoir_id} was deleted at {r.deleted_at}"


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        device_check(
            "reservoir_not_deleted",
            "the attached reservoir is not deleted",
            problem,
            "attach the device to a live reservoir",
        )
    ]
