"""phone_use: a vectorised event type (one numpy array per field, no per-row Python)."""

from __future__ import annotations

import numpy as np

from synthkit import hookimpl
from synthkit.api import EventContext, EventType, FieldSpec

APPS = ("call", "text", "navigation")


def generate(ctx: EventContext) -> dict[str, np.ndarray]:
    return {
        "phone_seconds": (ctx.uniform(0, 3, 90) * ctx.intensity).astype(np.int64),
        "phone_app": (ctx.uniform(1) * len(APPS)).astype(np.int64),  # index into APPS
    }


@hookimpl
def synthkit_register_event_types() -> list[EventType]:
    return [
        EventType(
            name="phone_use",
            weight=0.04,
            fields=(FieldSpec("phone_seconds", "int"), FieldSpec("phone_app", "str", choices=APPS)),
            generate=generate,
            eligible={"min_speed_mph": 5.0},
            risk_multipliers={"safe": 0.3, "risky": 2.5},
        )
    ]
