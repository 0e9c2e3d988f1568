"""harsh_accel: the seed's "Adding a New Event Type", done the plugin way."""

from __future__ import annotations

import random
from typing import Any

from synthkit import hookimpl
from synthkit.api import EventType


def harsh_accel_attrs(rng: random.Random) -> dict[str, Any]:
    return {"accel_g": round(rng.uniform(0.3, 1.0), 2)}


@hookimpl
def synthkit_register_event_types() -> list[EventType]:
    return [
        EventType(
            name="harsh_accel",
            weight=0.05,
            attributes=harsh_accel_attrs,
            eligible={"min_speed_mph": 5.0},
            description="hard acceleration, accel_g 0.3-1.0 g",
        )
    ]
