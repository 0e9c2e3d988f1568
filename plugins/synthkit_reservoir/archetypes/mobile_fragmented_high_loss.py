"""mobile_fragmented_high_loss: many non-productive stops, high transit loss."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Archetype


@hookimpl
def synthkit_register_archetypes() -> list[Archetype]:
    return [
        Archetype(
            name="mobile_fragmented_high_loss",
            mode="MOBILE",
            model="mobile_truck",
            defaults={
                "capacity_liters": 10_000.0,
                "speed_kmh": 22.0,
                "delivery_liters": 700.0,
                "delivery_cv": 0.5,
                "nonproductive_stop_prob": 0.35,
                "transit_loss_pct_per_km": 0.35,
                "dwell_minutes_client": 20.0,
            },
            tendencies=("lower liters_per_km", "higher mobile_nrw_liters"),
            description="More non-productive stops and higher transit loss.",
        )
    ]
