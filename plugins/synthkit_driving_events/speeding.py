"""speeding: travelling above the posted limit; only chosen when the speed really is above it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import EventContext, EventType, FieldSpec

if TYPE_CHECKING:
    import numpy as np

MIN_OVER_MPH = 5.0


def generate(ctx: EventContext) -> dict[str, np.ndarray]:
    import numpy as np  # loaded when events are generated, not at start-up

    over = np.round(ctx.speed_mph - ctx.posted_speed_mph, 1)  # consistent with speed_mph
    duration = ctx.uniform(0, 10, 240) * np.where(ctx.intensity < 1, 0.5, ctx.intensity**1.5)
    return {
        "posted_speed_mph": ctx.posted_speed_mph.astype(np.int64),
        "over_speed_mph": over,
        "duration_sec": np.maximum(duration, 5).astype(np.int64),
    }


@hookimpl
def synthkit_register_event_types() -> list[EventType]:
    return [
        EventType(
            name="speeding",
            weight=0.22,
            fields=(
                FieldSpec("posted_speed_mph", "int"),
                FieldSpec("over_speed_mph", "decimal", 1),
                FieldSpec("duration_sec", "int"),
            ),
            generate=generate,
            eligible={"over_limit_mph": MIN_OVER_MPH},
            risk_multipliers={"ultra_safe": 0.12, "safe": 0.5, "risky": 2.0, "ultra_risky": 10.5},
            description="speed_mph >= posted_speed_mph + 5; over_speed_mph is the difference",
        )
    ]
