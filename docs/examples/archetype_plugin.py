"""A team's archetype package: a parameter set for an existing device model."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Archetype


@hookimpl
def synthkit_register_archetypes() -> list[Archetype]:
    return [
        Archetype(
            name="school_tank_weekdays",
            mode="STATIONARY",
            model="stationary_tank",
            defaults={"capacity_liters": 10_000, "weekday_multipliers": [1.3] * 5 + [0.2, 0.2]},
            tendencies=("near-empty on Friday evenings", "refills over the weekend"),
        )
    ]
