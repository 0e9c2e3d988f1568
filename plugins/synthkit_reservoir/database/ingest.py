"""The ingestion contract: (mqtt_client_id, payload, received_at) in; stored, duplicate or
rejected (with the reason) out.

Rows arrive in columns (:class:`TelemetryRows`), one message or a whole batch: the device is
looked up by its MQTT client id, the ultrasonic distance is the median of the raw readings,
and level_pct and liters come from the attached reservoir's calibration (explicit sensor
distances, else empty = height_mm, full = 0). Accepted rows are inserted in transactions of
``commit_rows`` and deduplicated on (mqtt_client_id, seq): a replay stores nothing twice.

How rows are written (no per-row Python) is in
:mod:`synthkit_reservoir.database.store`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from synthkit_reservoir.calibration import Calibration, level_from_distance, liters_from_level
from synthkit_reservoir.database.schema import devices, reservoirs
from synthkit_reservoir.database.store import Accepted, PostgresStore, SqliteStore
from synthkit_reservoir.payload import PayloadFields, decode, out_of_range, parse

REFRESH_S = 1.0  # how often an unknown device may reload the device table
STORED = "stored:NEW"
DUPLICATE = "duplicate:SEQ_ALREADY_STORED"
READY = "dry_run:READY"


@dataclass
class TelemetryRows:
    """Messages in columns: who sent each, when it arrived, and its payload values
    (``fields.raw`` is (rows, samples) with -1 where a device sent fewer readings; NaN marks an
    absent float, such as the location of a stationary device). ``payload``: the bytes each
    message arrived as, stored as they are (None: rows that were never a message, an
    import's or a bootstrap's, whose payload the codec writes)."""

    client: np.ndarray  # object (str)
    received_s: np.ndarray  # int64 epoch seconds
    fields: PayloadFields
    payload: np.ndarray | None = None  # object (bytes)

    @property
    def n(self) -> int:
        return self.fields.n

    def take(self, idx: np.ndarray | slice) -> TelemetryRows:
        return TelemetryRows(
            self.client[idx],
            self.received_s[idx],
            self.fields.take(idx),
            None if self.payload is None else self.payload[idx],
        )

    @classmethod
    def concat(cls, parts: list[TelemetryRows]) -> TelemetryRows:
        payloads = [p.payload for p in parts]
        return cls(
            client=np.concatenate([p.client for p in parts]),
            received_s=np.concatenate([p.received_s for p in parts]),
            fields=PayloadFields.concat([p.fields for p in parts]),
            payload=None if any(p is None for p in payloads) else np.concatenate(payloads),  # type: ignore[arg-type]
        )

    @classmethod
    def from_messages(
        cls, clients: Sequence[str], datas: Sequence[bytes], received_s: Sequence[int]
    ) -> tuple[TelemetryRows, list[tuple[int, str]]]:
        """A batch of received messages, decoded at once by the codec: (the rows of the valid
        ones, their bytes kept; (index, ``BAD_JSON (why)`` or ``BAD_PAYLOAD (why)``) for the
        others)."""
        parsed: list[Any] = []
        where: list[int] = []
        bad: list[tuple[int, str]] = []
        for i, data in enumerate(datas):
            try:
                parsed.append(parse(data))
                where.append(i)
            except ValueError as exc:
                bad.append((i, str(exc)))
        fields, kept, refused = decode(parsed)
        bad += [(where[j], why) for j, why in refused]
        rows = [where[j] for j in kept]
        payload = np.empty(len(rows), object)
        payload[:] = [bytes(datas[i]) for i in rows]
        return cls(
            client=np.array([clients[i] for i in rows], object),
            received_s=np.array([received_s[i] for i in rows], np.int64),
            fields=fields,
            payload=payload,
        ), sorted(bad)

    @classmethod
    def from_payload(cls, mqtt_client_id: str, payload: Any, received_s: int) -> TelemetryRows:
        """One parsed message; raises ValueError (``BAD_PAYLOAD (why)``) when a value is
        missing, of the wrong type or out of range."""
        fields, _, bad = decode([payload])
        if bad:
            raise ValueError(bad[0][1])
        return cls(np.array([mqtt_client_id], object), np.array([received_s], np.int64), fields)


@dataclass(frozen=True)
class _Target:
    reservoir_id: uuid.UUID | None
    deleted: bool
    calibration: Calibration | None


class Ingestor:
    """Ingests :class:`TelemetryRows` into the reference database behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(
                f"the reference ingestion supports SQLite and PostgreSQL, not {self.dialect}"
            )
        self._targets: dict[str, _Target] | None = None
        self._loaded_at = 0.0  # monotonic time of the last device-table load
        self._not_found: set[str] = (
            set()
        )  # unknown to the last load: reloaded for at most every REFRESH_S
        self._lock = threading.Lock()
        self.store_type: type[PostgresStore | SqliteStore] = (
            PostgresStore if self.dialect == "postgresql" else SqliteStore
        )
        self._local = threading.local()  # a store per thread: its encoders are not shared
        # PostgreSQL runs each connection's COPY on its own server process, so two writers
        # keep both cores busy; SQLite has one writer at a time.
        self.writers = 2 if self.dialect == "postgresql" else 1

    def targets(self) -> dict[str, _Target]:
        """mqtt_client_id -> where its telemetry goes (loaded once; :meth:`refresh` reloads)."""
        with self._lock:
            if self._targets is None:
                self._targets = self._load_targets()
                self._loaded_at = time.monotonic()
            return self._targets

    def _load_targets(self) -> dict[str, _Target]:
        query = select(
            devices.c.mqtt_client_id,
            reservoirs.c.reservoir_id,
            reservoirs.c.deleted_at,
            reservoirs.c.capacity_liters,
            reservoirs.c.height_mm,
            reservoirs.c.sensor_empty_distance_mm,
            reservoirs.c.sensor_full_distance_mm,
        ).select_from(devices.outerjoin(reservoirs))
        out: dict[str, _Target] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                cal = None
                if row.reservoir_id is not None:
                    try:
                        cal = Calibration.resolve(
                            row.capacity_liters,
                            row.height_mm,
                            row.sensor_empty_distance_mm,
                            row.sensor_full_distance_mm,
                        )
                    except ValueError:
                        cal = None
                out[row.mqtt_client_id] = _Target(row.reservoir_id, row.deleted_at is not None, cal)
        return out

    def refresh(self) -> None:
        self._targets = None

    def verify(self) -> None:
        """Refuse (ConfigError) a schema that cannot dedupe or lacks a column ingestion writes:
        every writer calls this before its first write."""
        from synthkit.api import redact
        from synthkit_reservoir.database.snapshot import require_ingestible

        require_ingestible(self.engine, redact(str(self.engine.url)))

    def ingest(self, rows: TelemetryRows, *, apply: bool = True) -> Counter[str]:
        """Outcome counts for ``rows``; with ``apply=False`` nothing is written (``dry_run:*``)."""
        counts, accepted = self.check(rows, apply=apply)
        if accepted is not None:
            counts.update(self.write(accepted))
        return +counts  # drop zero counts

    def check(
        self, rows: TelemetryRows, *, apply: bool = True
    ) -> tuple[Counter[str], Accepted | None]:
        """Rejections counted, and the accepted rows with their derived values (None when
        there are none, or on a dry run, where they count as ``dry_run:READY``)."""
        counts, accepted, _ = self.classify(rows, apply=apply)
        return counts, accepted

    def classify(
        self, rows: TelemetryRows, *, apply: bool = True
    ) -> tuple[Counter[str], Accepted | None, np.ndarray]:
        """:meth:`check`, plus each row's outcome ("" when accepted, else ``rejected:REASON``).

        A device the loaded table does not know reloads it first: one registered after the
        process started is not rejected. A device a reload did not find either reloads it at
        most every :data:`REFRESH_S` (a stream of unknown devices does not reload per batch)."""
        outcome = np.full(rows.n, "", object)
        targets = self.targets()
        uniq, inverse = np.unique(rows.client.astype(str), return_inverse=True)
        unknown = [c for c in uniq.tolist() if c not in targets]
        if unknown and (
            not self._not_found.issuperset(unknown)
            or time.monotonic() - self._loaded_at >= REFRESH_S
        ):
            self.refresh()
            targets = self.targets()
            self._not_found = {c for c in unknown if c not in targets}
        res_ids: list[Any] = []
        cal = np.full((len(uniq), 3), np.nan)  # empty, full, capacity
        reason = np.full(len(uniq), "", object)
        for i, client in enumerate(uniq.tolist()):
            t = targets.get(client)
            res_ids.append(t.reservoir_id if t else None)
            if t is None:
                reason[i] = "rejected:UNKNOWN_DEVICE"
            elif t.reservoir_id is None:
                reason[i] = "rejected:DEVICE_NOT_ATTACHED"
            elif t.deleted:
                reason[i] = "rejected:RESERVOIR_DELETED"
            elif t.calibration is None:
                reason[i] = "rejected:NO_CALIBRATION"
            else:
                cal[i] = (
                    t.calibration.empty_mm,
                    t.calibration.full_mm,
                    t.calibration.capacity_liters,
                )
        outcome[:] = reason[inverse]
        f = rows.fields
        readings = np.where(f.raw >= 0, f.raw, np.nan).astype(float)
        has_readings = ~np.all(np.isnan(readings), axis=1)
        outcome[(outcome == "") & ~has_readings] = "rejected:NO_READINGS"
        outcome[
            (outcome == "")
            & (out_of_range("seq", f.seq) | out_of_range("schema_version", f.schema_version))
        ] = "rejected:BAD_PAYLOAD"
        ok = outcome == ""
        counts: Counter[str] = Counter(outcome[~ok].tolist())
        if not ok.any():
            return counts, None, outcome
        if not apply:
            counts[READY] += int(ok.sum())
            return counts, None, outcome
        idx = np.flatnonzero(ok)
        with np.errstate(all="ignore"):
            distance = np.nanmedian(readings[idx], axis=1)
        c = cal[inverse[idx]]
        level = np.clip(level_from_distance(c[:, 0], c[:, 1], distance), 0.0, 100.0)
        liters = liters_from_level(c[:, 2], level)
        codes = inverse[idx]
        used, client = np.unique(codes, return_inverse=True)  # clients present in this batch
        acc = Accepted(
            client=client.astype(np.int64),
            clients=uniq[used].tolist(),
            reservoirs=[_uuid_text(res_ids[j], self.dialect) for j in used.tolist()],
            received_s=rows.received_s[idx],
            payload=None if rows.payload is None else rows.payload[idx],
            distance=distance,
            level=level,
            liters=liters,
            fields=f.take(idx),
        )
        return counts, acc, outcome

    def write(self, acc: Accepted, commit_rows: int | None = None) -> Counter[str]:
        """Stores accepted rows, ``commit_rows`` per transaction (all in one when None); a
        commit that fails leaves the earlier ones stored. Safe to call from several threads."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = self.store_type()
        encoded = store.encode(acc)
        step = commit_rows or acc.n
        stored = 0
        with self.engine.connect() as conn:
            for lo in range(0, acc.n, step):
                with conn.begin():
                    stored += store.store(conn, encoded, lo, min(lo + step, acc.n))
        return +Counter({STORED: stored, DUPLICATE: acc.n - stored})


def _uuid_text(value: uuid.UUID, dialect: str) -> str:
    """A UUID as the dialect stores it (SQLAlchemy keeps 32 hex digits on SQLite)."""
    return value.hex if dialect == "sqlite" else str(value)
