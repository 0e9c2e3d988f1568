"""stationary_archetype_a: regular inflow, strong buffering."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Archetype


@hookimpl
def synthkit_register_archetypes() -> list[Archetype]:
    return [
        Archetype(
            name="stationary_archetype_a",
            mode="STATIONARY",
            model="stationary_tank",
            # supply comfortably exceeds demand (950 vs 720 L/day) in a few regular deliveries,
            # and a large tank buffers the gaps
            defaults={
                "capacity_liters": 8000.0,
                "height_mm": 2200.0,
                "initial_level_pct": 75.0,
                "demand_liters_per_hour": 30.0,
                "demand_noise": 0.2,
                "supply_events_per_day": 2.5,
                "supply_liters_per_event": 380.0,
                "supply_volume_cv": 0.15,
                "low_level_pct": 15.0,
                "low_level_demand_factor": 0.7,
            },
            tendencies=("lower runout_prob", "higher autonomy_days_est"),
            description="More regular inflow, stronger buffering.",
        )
    ]
