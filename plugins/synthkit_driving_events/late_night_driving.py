"""late_night_driving: driving between local midnight and 04:00."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import EventContext, EventType, FieldSpec

if TYPE_CHECKING:
    import numpy as np


def generate(ctx: EventContext) -> dict[str, np.ndarray]:
    import numpy as np  # loaded when events are generated, not at start-up

    return {"local_hour": ctx.local_hour.astype(np.int64)}


@hookimpl
def synthkit_register_event_types() -> list[EventType]:
    return [
        EventType(
            name="late_night_driving",
            weight=0.08,
            fields=(FieldSpec("local_hour", "int"),),
            generate=generate,
            eligible={"min_speed_mph": 5.0, "night_only": True},
            risk_multipliers={"ultra_safe": 0.05, "safe": 0.4, "risky": 2.4, "ultra_risky": 12.2},
            description="only at local hours 0-3; local_hour is the event's local hour",
        )
    ]
