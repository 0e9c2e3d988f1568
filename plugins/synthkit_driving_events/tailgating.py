"""tailgating: following the vehicle ahead too closely at speed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import EventContext, EventType, FieldSpec

if TYPE_CHECKING:
    import numpy as np


def generate(ctx: EventContext) -> dict[str, np.ndarray]:
    import numpy as np  # loaded when events are generated, not at start-up

    return {
        "following_distance_m": np.maximum(ctx.uniform(0, 4.0, 15.0) / ctx.intensity, 1.0),
        "speed_context_mph": ctx.speed_mph.astype(np.int64),
    }


@hookimpl
def synthkit_register_event_types() -> list[EventType]:
    return [
        EventType(
            name="tailgating",
            weight=0.10,
            fields=(
                FieldSpec("following_distance_m", "decimal", 1),
                FieldSpec("speed_context_mph", "int"),
            ),
            generate=generate,
            eligible={"min_speed_mph": 20.0},
            risk_multipliers={"ultra_safe": 0.08, "safe": 0.4, "risky": 2.2, "ultra_risky": 9.8},
            description="following_distance_m 4-15 m (closer for risky drivers) at >= 20 mph",
        )
    ]
