"""hard_braking: a sharp deceleration (peak g), sometimes with ABS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import EventContext, EventType, FieldSpec

if TYPE_CHECKING:
    import numpy as np


def generate(ctx: EventContext) -> dict[str, np.ndarray]:
    import numpy as np  # loaded when events are generated, not at start-up

    g = ctx.uniform(0, 0.25, 0.9) * ctx.intensity
    return {
        "braking_g": np.minimum(g, 2.5),
        # harder stops trip the ABS more often
        "abs_activation": ctx.uniform(1) < 0.15 * ctx.intensity,
    }


@hookimpl
def synthkit_register_event_types() -> list[EventType]:
    return [
        EventType(
            name="hard_braking",
            weight=0.18,
            fields=(FieldSpec("braking_g", "decimal", 2), FieldSpec("abs_activation", "bool")),
            generate=generate,
            eligible={"min_speed_mph": 10.0},
            risk_multipliers={"ultra_safe": 0.1, "safe": 0.4, "risky": 3.9, "ultra_risky": 10.2},
            description="peak deceleration braking_g (0.25-0.9 g, scaled by driver risk)",
        )
    ]
