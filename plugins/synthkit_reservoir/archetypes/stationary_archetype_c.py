"""stationary_archetype_c: fragmented inflow, strong near-empty demand suppression."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Archetype


@hookimpl
def synthkit_register_archetypes() -> list[Archetype]:
    return [
        Archetype(
            name="stationary_archetype_c",
            mode="STATIONARY",
            model="stationary_tank",
            # many small, erratic deliveries that fall far short of demand (330 vs 720 L/day)
            # into a small tank; users ration hard as it nears empty, and it still runs dry on
            # most days (at 630 L/day rationing held it near 25 %: runout_prob was 0 for most
            # seeds and cadences; benchmarks/bench_tendencies.py measures the tendencies)
            defaults={
                "capacity_liters": 3000.0,
                "height_mm": 1600.0,
                "initial_level_pct": 60.0,
                "demand_liters_per_hour": 30.0,
                "demand_noise": 0.35,
                "supply_events_per_day": 6.0,
                "supply_liters_per_event": 55.0,
                "supply_volume_cv": 0.9,
                "low_level_pct": 30.0,
                "low_level_demand_factor": 0.3,
            },
            tendencies=("higher runout_prob", "higher supply_fragmentation_index"),
            description="More fragmented inflow, stronger near-empty demand suppression.",
        )
    ]
