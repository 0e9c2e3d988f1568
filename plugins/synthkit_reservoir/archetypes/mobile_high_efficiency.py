"""mobile_high_efficiency: dense deliveries, low transit loss."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Archetype


@hookimpl
def synthkit_register_archetypes() -> list[Archetype]:
    return [
        Archetype(
            name="mobile_high_efficiency",
            mode="MOBILE",
            model="mobile_truck",
            defaults={
                "capacity_liters": 10_000.0,
                "speed_kmh": 35.0,
                "delivery_liters": 1800.0,
                "delivery_cv": 0.2,
                "nonproductive_stop_prob": 0.03,
                "transit_loss_pct_per_km": 0.03,
                "dwell_minutes_client": 12.0,
            },
            tendencies=("higher liters_per_km", "lower mobile_nrw_liters"),
            description="Higher delivery density, lower transit loss.",
        )
    ]
