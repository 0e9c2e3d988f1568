"""Writes accepted telemetry with no per-row Python: the database builds each payload.

PostgreSQL: the compiled CSV encoder writes the rows as COPY text into a temporary staging
table; one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` then builds the payload with
``json_build_object`` and dedupes, on the server (the other core). SQLite: ``executemany``
of one ``INSERT OR IGNORE`` whose payload is a ``json_object(...)`` of the row's values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection

from synthkit.batch import Batch, Column
from synthkit.encode import Encoder

from synthkit_reference_db.schema import UNIQUE_TELEMETRY

MAX_RAW = 16  # raw readings a payload may carry (the models' raw_samples <= 16)
_COLS = "mqtt_client_id, seq, received_at, reservoir_id, distance_mm, level_pct, liters, payload"


@dataclass
class Accepted:
    """The rows to store, in columns. ``client`` indexes ``clients``/``reservoirs``."""

    client: np.ndarray  # int64 codes
    clients: list[str]
    reservoirs: list[str]  # per client code, as the dialect stores a UUID
    seq: np.ndarray
    received_s: np.ndarray
    distance: np.ndarray
    level: np.ndarray
    liters: np.ndarray
    schema_version: np.ndarray
    local_ms: np.ndarray
    raw: np.ndarray  # int64 (rows, k), -1 = absent
    temperature: np.ndarray
    battery: np.ndarray
    signal: np.ndarray
    latitude: np.ndarray  # NaN = no location
    longitude: np.ndarray
    speed: np.ndarray

    @property
    def n(self) -> int:
        return int(self.seq.shape[0])


def _payload_sql(fn: str, raw: str, location: bool) -> str:
    """The section 10 payload as a SQL expression (``fn`` is json_build_object/json_object)."""
    base = (
        f"'schema_version', {{sv}}, 'local_timestamp_ms', {{ms}}, 'seq', {{seq}}, "
        f"'sensors', {fn}('ultrasonic', {fn}('raw_readings', {raw}, 'temperature_c', {{temp}})), "
        f"'power', {fn}('battery_percentage', {{bat}}), 'signal_strength_dbm', {{sig}}"
    )
    if location:
        base += f", 'location', {fn}('latitude', {{lat}}, 'longitude', {{lon}}, 'speed_kmh', {{spd}})"
    return f"{fn}({base})"


# ---------------------------------------------------------------------------- PostgreSQL

_STAGE_COLUMNS = (
    "mqtt_client_id text, seq bigint, received_at timestamptz, reservoir_id uuid, "
    "distance_mm float8, level_pct float8, liters float8, schema_version int, "
    "local_timestamp_ms bigint, temperature_c float8, battery_percentage float8, "
    "signal_strength_dbm int, latitude float8, longitude float8, speed_kmh float8, "
    + ", ".join(f"raw_{i} bigint" for i in range(1, MAX_RAW + 1))
)
_PG_NAMES = dict(sv="schema_version", ms="local_timestamp_ms", seq="seq", temp="temperature_c",
                 bat="battery_percentage", sig="signal_strength_dbm", lat="latitude",
                 lon="longitude", spd="speed_kmh")  # fmt: skip
_PG_RAW = "to_json(array_remove(ARRAY[" + ", ".join(f"raw_{i}" for i in range(1, MAX_RAW + 1)) + "], NULL))"
_PG_INSERT = (
    f"INSERT INTO telemetry ({_COLS}) SELECT mqtt_client_id, seq, received_at, reservoir_id, "
    "distance_mm, level_pct, liters, (CASE WHEN latitude IS NULL THEN "
    + _payload_sql("json_build_object", _PG_RAW, False).format(**_PG_NAMES)
    + " ELSE " + _payload_sql("json_build_object", _PG_RAW, True).format(**_PG_NAMES)
    + f" END)::text FROM telemetry_stage ON CONFLICT ON CONSTRAINT {UNIQUE_TELEMETRY} DO NOTHING"
)  # fmt: skip


class PostgresStore:
    def __init__(self) -> None:
        self.encoder = Encoder("csv", threads=1)

    def store(self, conn: Connection, acc: Accepted) -> int:
        batch = _copy_batch(acc)
        data = self.encoder.encode_bytes(batch)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS telemetry_stage ({_STAGE_COLUMNS}) ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY telemetry_stage ({', '.join(batch.names)}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(data)
            cur.execute(_PG_INSERT)
            return cur.rowcount


def _copy_batch(acc: Accepted) -> Batch:
    """The staging rows as a batch for the CSV encoder (empty cell = NULL)."""
    uniq, inverse = np.unique(acc.received_s, return_inverse=True)
    text = np.char.add(np.datetime_as_string(uniq.astype("datetime64[s]"), unit="s"), "Z")
    stamps = text.astype("S20").view(np.uint8).reshape(-1, 20)[inverse]

    def opt(name: str, values: np.ndarray) -> Column:
        present = ~np.isnan(values)
        return Column(name, "decimal", np.where(present, values, 0.0), decimals=6,
                      present=None if present.all() else present)  # fmt: skip

    cols = [
        Column("mqtt_client_id", "label", acc.client, labels=acc.clients),
        Column("seq", "int", acc.seq),
        Column("received_at", "fixed", stamps),
        Column("reservoir_id", "label", acc.client, labels=acc.reservoirs),
        Column("distance_mm", "decimal", acc.distance, decimals=1),
        Column("level_pct", "decimal", acc.level, decimals=2),
        Column("liters", "decimal", acc.liters, decimals=1),
        Column("schema_version", "int", acc.schema_version),
        Column("local_timestamp_ms", "int", acc.local_ms),
        opt("temperature_c", acc.temperature),
        opt("battery_percentage", acc.battery),
        Column("signal_strength_dbm", "int", acc.signal),
        opt("latitude", acc.latitude),
        opt("longitude", acc.longitude),
        opt("speed_kmh", acc.speed),
    ]
    for i in range(acc.raw.shape[1]):
        r = acc.raw[:, i]
        cols.append(Column(f"raw_{i + 1}", "int", r, present=None if (r >= 0).all() else r >= 0))
    return Batch(cols)


# -------------------------------------------------------------------------------- SQLite


class SqliteStore:
    def __init__(self) -> None:
        self._sql: dict[tuple[int, bool], str] = {}

    def _statement(self, k: int, location: bool) -> str:
        key = (k, location)
        if key not in self._sql:
            names = {n: "?" for n in _PG_NAMES}
            payload = _payload_sql("json_object", "json_array(" + ", ".join("?" * k) + ")", location)
            self._sql[key] = (
                f"INSERT OR IGNORE INTO telemetry ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, "
                + payload.format(**names) + ")"
            )
        return self._sql[key]

    def store(self, conn: Connection, acc: Accepted) -> int:
        raw_conn = conn.connection.driver_connection
        before = raw_conn.total_changes
        times = np.datetime_as_string(acc.received_s.astype("datetime64[s]"), unit="s")
        stamps = np.char.add(np.char.replace(times, "T", " "), ".000000").tolist()
        clients = np.array(acc.clients, dtype=object)[acc.client].tolist()
        reservoirs = np.array(acc.reservoirs, dtype=object)[acc.client].tolist()
        counts = (acc.raw >= 0).sum(axis=1)
        has_loc = ~np.isnan(acc.latitude)
        for k in np.unique(counts).tolist():
            for loc in (False, True):
                sel = np.flatnonzero((counts == k) & (has_loc == loc))
                if sel.size == 0:
                    continue
                order = np.argsort(acc.raw[sel] < 0, axis=1, kind="stable")  # readings first
                raw_vals = np.take_along_axis(acc.raw[sel], order, axis=1)[:, :k].T.tolist()
                pick = lambda a: a[sel].tolist()  # noqa: E731
                c, st, rv = [clients[i] for i in sel.tolist()], [stamps[i] for i in sel.tolist()], [reservoirs[i] for i in sel.tolist()]
                seq = pick(acc.seq)
                columns = [c, seq, st, rv, pick(acc.distance.round(1)), pick(acc.level.round(2)),
                           pick(acc.liters.round(1)), pick(acc.schema_version), pick(acc.local_ms), seq,
                           *raw_vals, pick(acc.temperature), pick(acc.battery), pick(acc.signal)]  # fmt: skip
                if loc:
                    columns += [pick(acc.latitude), pick(acc.longitude), pick(acc.speed)]
                raw_conn.executemany(self._statement(k, loc), zip(*columns))
        return raw_conn.total_changes - before
