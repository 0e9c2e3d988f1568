"""mobile_capable: MOBILE devices are attached to a TRUCK_TANK or MOBILE reservoir."""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import PreflightCheck
from synthkit_reservoir.database.snapshot import DbSnapshot, attached_reservoir, device_check


def problem(d: Any, s: DbSnapshot) -> str | None:
    r = attached_reservoir(d, s)
    if d.mode != "MOBILE" or r is None or r.kind in ("TRUCK_TANK", "MOBILE"):
        return None
    return f"a MOBILE device on a {r.kind} reservoir"


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        device_check(
            "mobile_capable",
            "MOBILE devices are attached to a TRUCK_TANK or MOBILE reservoir",
            problem,
            "attach mobile devices to TRUCK_TANK or MOBILE reservoirs, or use a stationary archetype",
        )
    ]
