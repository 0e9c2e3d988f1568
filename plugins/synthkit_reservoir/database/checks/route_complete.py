"""route_complete: a MOBILE device's route has BASE, REFILL and CLIENT points."""

from __future__ import annotations

from typing import Any

from synthkit_reservoir.database.snapshot import DbSnapshot, device_check

from synthkit import hookimpl
from synthkit.records import PreflightCheck


def problem(d: Any, s: DbSnapshot) -> str | None:
    if d.mode != "MOBILE":
        return None
    missing = [k for k in ("BASE", "REFILL", "CLIENT") if k not in d.route.kinds()]
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
