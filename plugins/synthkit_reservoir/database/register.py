"""``db init`` and ``db register``: the schema, and a scenario's devices and reservoirs.

Registering is idempotent: a device already present keeps its attachment (so a re-run never
moves telemetry to another reservoir), and one present but detached is attached to its
reservoir (nothing of it moves: it had none); new devices get a reservoir built from their model's
parameters (capacity, calibration), kind STATIONARY for tanks and TRUCK_TANK for trucks,
with a stable id (the scenario's ``reservoir_id`` pin, else derived from scenario + device).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, insert, inspect, select, update

from synthkit_reservoir.database.schema import (
    SCHEMA_VERSION,
    devices,
    metadata,
    reservoirs,
    synthkit_meta,
)
from synthkit_reservoir.scenario import LoadedScenario

_NAMESPACE = uuid.UUID("9b8c3f1e-2d4a-5b6c-8d7e-0f1a2b3c4d5e")


def init_schema(engine: Engine) -> dict[str, Any]:
    existed = set(inspect(engine).get_table_names())
    metadata.create_all(engine)
    with engine.begin() as conn:
        if (
            conn.execute(
                select(synthkit_meta.c.key).where(synthkit_meta.c.key == "schema_version")
            ).first()
            is None
        ):
            conn.execute(insert(synthkit_meta).values(key="schema_version", value=SCHEMA_VERSION))
    created = sorted(set(metadata.tables) - existed)
    return {"tables_created": created, "tables_present": sorted(metadata.tables)}


def reservoir_id_for(loaded: LoadedScenario, device_id: str, pinned: uuid.UUID | None) -> uuid.UUID:
    return pinned or uuid.uuid5(_NAMESPACE, f"{loaded.scenario_id}/{device_id}")


def register(engine: Engine, loaded: LoadedScenario) -> dict[str, Any]:
    with engine.begin() as conn:
        have = {
            row.device_id: row.reservoir_id
            for row in conn.execute(select(devices.c.device_id, devices.c.reservoir_id))
        }
        have_res = {row.reservoir_id for row in conn.execute(select(reservoirs.c.reservoir_id))}
        new_res, new_dev, attach = [], [], []
        for d in loaded.devices:
            if d.device_id in have and have[d.device_id] is not None:
                continue
            rid = reservoir_id_for(loaded, d.device_id, d.reservoir_id)
            if rid not in have_res:
                params: Any = d.params  # the stationary/mobile models' parameters
                new_res.append(
                    {
                        "reservoir_id": rid,
                        "name": f"{d.device_id} ({d.archetype.name})",
                        "kind": "TRUCK_TANK" if d.mode == "MOBILE" else "STATIONARY",
                        "capacity_liters": params.capacity_liters,
                        "height_mm": params.height_mm,
                        "sensor_empty_distance_mm": params.sensor_empty_distance_mm,
                        "sensor_full_distance_mm": params.sensor_full_distance_mm,
                    }
                )
                have_res.add(rid)
            if d.device_id in have:
                attach.append((d.device_id, rid))
            else:
                new_dev.append(
                    {"device_id": d.device_id, "mqtt_client_id": d.device_id, "reservoir_id": rid}
                )
        if new_res:
            conn.execute(insert(reservoirs), new_res)
        if new_dev:
            conn.execute(insert(devices), new_dev)
        for device_id, rid in attach:
            conn.execute(
                update(devices).where(devices.c.device_id == device_id).values(reservoir_id=rid)
            )
    return {
        "devices_registered": len(new_dev),
        "devices_attached": len(attach),
        "devices_already_present": len(loaded.devices) - len(new_dev) - len(attach),
        "reservoirs_created": len(new_res),
    }
