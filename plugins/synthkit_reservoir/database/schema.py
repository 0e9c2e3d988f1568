"""The reference schema (SQLAlchemy Core, SQLite and PostgreSQL alike).

reservoirs: kind STATIONARY / TRUCK_TANK / MOBILE, capacity, calibration, soft deletion.
devices: device_id, mqtt_client_id (the MQTT identity ingestion keys on), attached reservoir.
telemetry: one row per accepted message, unique on (mqtt_client_id, seq): the dedupe key.
  The constraint's index leads with seq: a fleet's messages arrive with seqs that advance
  together, so new keys land at the index's right edge and a commit dirties a few pages.
  Led by mqtt_client_id, every device has its own insertion point, and a 500-row commit
  from 1,000 devices rewrote ~500 index pages (SQLite import at 500-row commits: 37k -> 55k
  rows/s; at 5,000: 133k -> 245k; see benchmarks/README.md).
  Its only other index is the primary key the analytics consumer reads by. Per-reservoir
  history is what reservoir_daily serves; an index on (reservoir_id, received_at) costs
  ingestion 1.3 us/row on PostgreSQL and 4 us/row on SQLite (measured), so add one only if
  you query raw telemetry that way.
telemetry_rejects: what `ingest listen` received and could not store, with the reason and bytes.
reservoir_daily + analytics_cursor: the analytics read model and its consumer's position.
places: where trucks stop, clustered from their telemetry by `bootstrap --cluster-places`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

SCHEMA_VERSION = 1
RESERVOIR_KINDS = ("STATIONARY", "TRUCK_TANK", "MOBILE")
UNIQUE_TELEMETRY = "uq_telemetry_client_seq"

metadata = MetaData()

reservoirs = Table(
    "reservoirs",
    metadata,
    Column("reservoir_id", Uuid, primary_key=True),
    Column("name", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("capacity_liters", Float, nullable=False),
    Column("height_mm", Float),
    Column("sensor_empty_distance_mm", Float),
    Column("sensor_full_distance_mm", Float),
    Column("deleted_at", DateTime(timezone=True)),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(128), primary_key=True),
    Column("mqtt_client_id", String(128), nullable=False, unique=True),
    Column("reservoir_id", Uuid, ForeignKey("reservoirs.reservoir_id")),  # NULL: not attached
)

# BigInteger ids on PostgreSQL; SQLite needs INTEGER PRIMARY KEY to autoincrement (rowid)
_ID = BigInteger().with_variant(Integer, "sqlite")

telemetry = Table(
    "telemetry",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("mqtt_client_id", String(128), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("reservoir_id", Uuid, nullable=False),
    Column("distance_mm", Float, nullable=False),
    Column("level_pct", Float, nullable=False),
    Column("liters", Float, nullable=False),
    Column("payload", Text, nullable=False),
    UniqueConstraint("seq", "mqtt_client_id", name=UNIQUE_TELEMETRY),
)

# messages the listener could not store as telemetry, kept whole so that none is lost in
# silence: what arrived (topic, bytes), when, and why it was refused (rejected:REASON)
telemetry_rejects = Table(
    "telemetry_rejects",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("topic", Text, nullable=False),
    Column("mqtt_client_id", String(128)),
    Column("reason", String(64), nullable=False),
    Column("detail", Text),
    Column("payload", LargeBinary, nullable=False),
)

reservoir_daily = Table(
    "reservoir_daily",
    metadata,
    Column("reservoir_id", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("samples", BigInteger, nullable=False),
    Column("level_min", Float, nullable=False),
    Column("level_max", Float, nullable=False),
    Column("level_sum", Float, nullable=False),
    Column("liters_last", Float, nullable=False),
    Column("last_received_at", DateTime(timezone=True), nullable=False),
)

# where trucks stop, clustered from their telemetry (database/places.py): one row per place
places = Table(
    "places",
    metadata,
    Column("route_id", String(128), primary_key=True),
    Column("place_id", Integer, primary_key=True),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("radius_m", Float, nullable=False),
    Column("visits", BigInteger, nullable=False),
    Column("devices", Integer, nullable=False),
    Column("point_id", String(128)),  # the route point within eps of the centroid, if any
    Column("kind", String(16)),
)

analytics_cursor = Table(
    "analytics_cursor",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("last_telemetry_id", BigInteger, nullable=False),
)

synthkit_meta = Table(
    "synthkit_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)
