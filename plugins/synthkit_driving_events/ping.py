"""ping: routine telemetry with no incident, the exposure denominator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import EventContext, EventType

if TYPE_CHECKING:
    import numpy as np


def generate(ctx: EventContext) -> dict[str, np.ndarray]:
    return {}


@hookimpl
def synthkit_register_event_types() -> list[EventType]:
    return [
        EventType(
            name="ping",
            weight=0.30,
            generate=generate,
            risk_multipliers={"ultra_safe": 2.5, "safe": 1.6, "risky": 0.7, "ultra_risky": 0.2},
            description="background telemetry, always eligible",
        )
    ]
