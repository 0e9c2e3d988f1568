"""Two archetypes for the reefer unit: a frozen-goods truck and a chilled cold room."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Archetype


@hookimpl
def synthkit_register_archetypes() -> list[Archetype]:
    return [
        Archetype(
            name="frozen_truck",
            mode="REEFER",
            model="reefer_unit",
            defaults={"setpoint_c": -18.0, "door_opens_per_h": 0.3, "door_heat_c": 3.0},
            tendencies=(
                "holds -18 C within about 1 C",
                "warms by a few degrees at each delivery stop",
            ),
            description="a reefer truck on a delivery round",
        ),
        Archetype(
            name="chilled_room",
            mode="REEFER",
            model="reefer_unit",
            defaults={
                "setpoint_c": 4.0,
                "door_opens_per_h": 6.0,
                "door_heat_c": 0.5,
                "leak_per_h": 0.02,
            },
            tendencies=("holds 4 C", "its door opens several times an hour: short warm spikes"),
            description="a walk-in cold room in a warehouse",
        ),
    ]
