"""The reservoir row layout: every column of an exported row, in order, and how each number
is written. Light (no numpy): device-model plugins declare their columns from it at start-up.
"""

from __future__ import annotations

from synthkit.api import FieldSpec

SCHEMA_VERSION = "1"
MAX_CLIENT_ID = 128  # characters of a device id: the width of the ingestion tables' mqtt_client_id
BASE = (
    "device_id",
    "seq",
    "received_at",
    "local_timestamp_ms",
    "schema_version",
    "mode",
    "archetype",
)
TRUTH = (
    "level_pct",
    "liters",
    "distance_mm",
    "inflow_liters",
    "outflow_liters",
    "loss_liters",
    "distance_km",
)
SENSOR = ("temperature_c", "battery_percentage", "signal_strength_dbm")
MOBILE = ("latitude", "longitude", "speed_kmh", "point_id")
DECIMALS = {
    "level_pct": 2,
    "liters": 1,
    "distance_mm": 1,
    "inflow_liters": 1,
    "outflow_liters": 1,
    "loss_liters": 2,
    "distance_km": 3,
    "temperature_c": 1,
    "battery_percentage": 1,
    "latitude": 6,
    "longitude": 6,
    "speed_kmh": 1,
}
RAW = "raw_readings"  # a model's (rows, samples) readings; the layout writes raw_1..raw_N
LAYOUT_COLUMNS = frozenset((*BASE, *TRUTH, *SENSOR, *MOBILE, RAW))


def specs(*names: str) -> tuple[FieldSpec, ...]:
    """The layout's own columns as a device model declares them (``DeviceModel.columns``)."""
    ints = {"signal_strength_dbm", RAW}
    unknown = [n for n in names if n not in DECIMALS and n not in ints and n != "point_id"]
    if unknown:
        raise ValueError(f"not columns of the reservoir layout: {', '.join(unknown)}")
    return tuple(
        FieldSpec(n, "decimal", DECIMALS[n])
        if n in DECIMALS
        else FieldSpec(n, "int")
        if n in ints
        else FieldSpec(n, "str")  # point_id: label codes
        for n in names
    )
