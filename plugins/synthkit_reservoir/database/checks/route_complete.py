"""route_complete: a MOBILE device's route has BASE, REFILL and CLIENT points."""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import PreflightCheck
from synthkit_reservoir.database.snapshot import DbSnapshot, device_check


def problem(d: Any, s: DbSnapshot) -> str | None:
    if d.route is None:  # only modes that take a route have one (family.MODE_RULES)
        return None
    missing = d.route.missing_kinds()
    return f"route {d.route.route_id!r} has no {'/'.join(missing)} point" if missing else None


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        device_check(
            "route_complete",
            "a MOBILE device's route has BASE, REFILL and CLIENT points",
            problem,
            "give the route BASE, REFILL and CLIENT points",
        )
    ]
