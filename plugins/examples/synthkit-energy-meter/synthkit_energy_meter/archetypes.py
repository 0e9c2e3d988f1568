"""Two archetypes for the smart meter: a household and a small shop."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Archetype


@hookimpl
def synthkit_register_archetypes() -> list[Archetype]:
    return [
        Archetype(
            name="household",
            mode="GRID",
            model="smart_meter",
            defaults={
                "base_kw": 0.3,
                "peak_kw": 2.5,
                "peak_hours": (7, 8, 18, 19, 20, 21),
                "weekend_factor": 1.2,
            },
            tendencies=("peaks at breakfast and in the evening", "uses a little more at weekends"),
            description="a home on a single-phase supply",
        ),
        Archetype(
            name="small_shop",
            mode="GRID",
            model="smart_meter",
            defaults={
                "base_kw": 1.0,
                "peak_kw": 6.0,
                "peak_hours": tuple(range(9, 18)),
                "weekend_factor": 0.4,
            },
            tendencies=("busy 09:00-17:59 UTC", "quiet at weekends"),
            description="a shop open on weekdays",
        ),
    ]
