"""aggressive_turn: high lateral acceleration in a turn."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import EventContext, EventType, FieldSpec

if TYPE_CHECKING:
    import numpy as np

DIRECTIONS = ("left", "right")


def generate(ctx: EventContext) -> dict[str, np.ndarray]:
    import numpy as np  # loaded when events are generated, not at start-up

    return {
        "lateral_g": np.minimum(ctx.uniform(0, 0.3, 1.1) * ctx.intensity, 3.0),
        "turn_direction": (ctx.uniform(1) < 0.5).astype(np.int64),  # index into DIRECTIONS
    }


@hookimpl
def synthkit_register_event_types() -> list[EventType]:
    return [
        EventType(
            name="aggressive_turn",
            weight=0.12,
            fields=(
                FieldSpec("lateral_g", "decimal", 2),
                FieldSpec("turn_direction", "str", choices=DIRECTIONS),
            ),
            generate=generate,
            eligible={"min_speed_mph": 8.0},
            risk_multipliers={"ultra_safe": 0.1, "safe": 0.4, "risky": 1.8, "ultra_risky": 9.0},
            description="lateral_g 0.3-1.1 g and turn_direction left/right",
        )
    ]
