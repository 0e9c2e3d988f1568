"""Writes accepted telemetry with no per-row Python on the hot path.

The compiled template encoder (:mod:`synthkit_reservoir.payload`) writes each row's
section 10 payload from the columns; nothing builds a dict or calls ``json.dumps`` per row.

Rows are encoded once per block (tens of thousands of rows) and committed in chunks of
``--commit-batch-size``, so a small commit size costs commits, not per-call encoding.

PostgreSQL: repeats within a chunk are dropped and the rows are COPYed straight into
``telemetry`` as COPY text the encoder wrote, line and payload alike, in a savepoint. If the
unique constraint stops that COPY (a replay), the keys already stored are looked up (one
indexed query) and the rest COPYed; while a replay lasts, chunks look first. Should a
concurrent writer store one of those keys in between, the chunk falls back to a staging
table and ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``: the constraint always has the
last word on dedupe. (Straight COPY measured 7.5 us/row on the server against 17 us/row
for staging + ``ON CONFLICT`` with the payload built in SQL: see benchmarks/README.md.)

SQLite has one writer at a time, so ``INSERT OR IGNORE`` against the constraint is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Connection

from synthkit.api import Batch, Column, Encoder, iso_seconds
from synthkit_reservoir.database.schema import UNIQUE_TELEMETRY
from synthkit_reservoir.payload import PayloadFields, PayloadWriter

_COLS = "mqtt_client_id, seq, received_at, reservoir_id, distance_mm, level_pct, liters, payload"


@dataclass
class Accepted:
    """The rows to store, in columns: the payload values plus what ingestion derived.
    ``client`` indexes ``clients``/``reservoirs``."""

    client: np.ndarray  # int64 codes
    clients: list[str]
    reservoirs: list[str]  # per client code, as the dialect stores a UUID
    received_s: np.ndarray
    distance: np.ndarray
    level: np.ndarray
    liters: np.ndarray
    fields: PayloadFields
    payload: np.ndarray | None = None  # the bytes each message arrived as (None: encode them)

    @property
    def n(self) -> int:
        return self.fields.n

    @property
    def seq(self) -> np.ndarray:
        return self.fields.seq

    def take(self, idx: np.ndarray | slice) -> Accepted:
        """The rows at ``idx`` (client codes and their lists unchanged)."""
        return replace(
            self,
            client=self.client[idx],
            received_s=self.received_s[idx],
            distance=self.distance[idx],
            level=self.level[idx],
            liters=self.liters[idx],
            fields=self.fields.take(idx),
            payload=None if self.payload is None else self.payload[idx],
        )

    def payload_texts(self) -> list[str]:
        """The received payloads as text (valid UTF-8: they parsed as JSON)."""
        assert self.payload is not None
        return [bytes(p).decode() for p in self.payload]


@dataclass
class Encoded:
    """Accepted rows as the store writes them, encoded once and committed in chunks."""

    acc: Accepted
    data: Any  # PostgreSQL: COPY text; SQLite: the flat statement parameters
    offsets: np.ndarray | None = None  # PostgreSQL: where each row's line starts in ``data``


# ---------------------------------------------------------------------------- PostgreSQL

_EXISTING = (
    "SELECT t.mqtt_client_id, t.seq FROM telemetry t "
    "JOIN unnest(%s::text[], %s::bigint[]) AS r(client, seq) "
    "ON t.seq = r.seq AND t.mqtt_client_id = r.client"
)
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS telemetry_stage (mqtt_client_id text, seq bigint, "
    "received_at timestamptz, reservoir_id uuid, distance_mm float8, level_pct float8, "
    "liters float8, payload text) ON COMMIT DELETE ROWS"
)
_FROM_STAGE = (
    f"INSERT INTO telemetry ({_COLS}) SELECT {_COLS} FROM telemetry_stage "
    f"ON CONFLICT ON CONSTRAINT {UNIQUE_TELEMETRY} DO NOTHING"
)


class PostgresStore:
    def __init__(self) -> None:
        self.payloads = PayloadWriter()
        self._received: Encoder | None = None  # COPY lines around payloads as received
        self._replaying = False  # the last chunk held stored keys: look before copying

    def encode(self, acc: Accepted) -> Encoded:
        """Every row's COPY line, written once for all the chunks committed from ``acc``."""
        data = self._copy_text(acc)
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1
        return Encoded(acc, data, np.concatenate(([0], ends)))

    def store(self, conn: Connection, enc: Encoded, lo: int, hi: int) -> int:
        """Rows ``lo:hi`` stored; the caller's transaction commits them."""
        raw: Any = conn.connection.driver_connection
        acc = enc.acc.take(slice(lo, hi))
        with raw.cursor() as cur:
            fresh = _first_occurrences(acc)
            if not self._replaying and fresh.all():  # the common case: all new, no lookup needed
                assert enc.offsets is not None  # PostgreSQL's encoding has them
                if self._copy(raw, cur, enc.data[enc.offsets[lo] : enc.offsets[hi]]):
                    return acc.n
            fresh &= ~self._already_stored(cur, acc)
            self._replaying = not fresh.all()
            if not fresh.any():
                return 0
            rest = acc.take(np.flatnonzero(fresh))
            if self._copy(raw, cur, self._copy_text(rest)):
                return rest.n
            # a concurrent writer stored one of these keys since the lookup: the constraint decides
            cur.execute(_STAGE)
            with cur.copy(f"COPY telemetry_stage ({_COLS}) FROM STDIN") as copy:
                copy.write(self._copy_text(rest))
            cur.execute(_FROM_STAGE)
            return cur.rowcount

    @staticmethod
    def _copy(raw: psycopg.Connection, cur: psycopg.Cursor, data: bytes) -> bool:
        """COPY lines straight into telemetry; False (and nothing written) on a stored key."""
        try:
            with raw.transaction():  # a savepoint: a conflict rolls back only this COPY
                with cur.copy(f"COPY telemetry ({_COLS}) FROM STDIN") as copy:
                    copy.write(data)
            return True
        except psycopg.errors.UniqueViolation:
            return False

    @staticmethod
    def _already_stored(cur: psycopg.Cursor, acc: Accepted) -> np.ndarray:
        """True where (client, seq) is already in telemetry: one probe of the key per row."""
        names = [acc.clients[c] for c in acc.client.tolist()]
        taken = cur.execute(_EXISTING, (names, acc.seq.tolist())).fetchall()
        if not taken:
            return np.zeros(acc.n, bool)
        pairs = set(taken)
        return np.fromiter(((c, s) in pairs for c, s in zip(names, acc.seq.tolist())), bool, acc.n)

    def _copy_text(self, acc: Accepted) -> bytes:
        stamps = iso_seconds(acc.received_s)
        cols = [
            Column(
                "mqtt_client_id", "label", acc.client, labels=[_copy_escape(c) for c in acc.clients]
            ),
            Column("seq", "int", acc.seq),
            Column("received_at", "fixed", stamps),
            Column("reservoir_id", "label", acc.client, labels=acc.reservoirs),
            Column("distance_mm", "decimal", acc.distance, decimals=1),
            Column("level_pct", "decimal", acc.level, decimals=2),
            Column("liters", "decimal", acc.liters, decimals=1),
        ]
        prefixes = {c.name: b"\t" for c in cols[1:]}
        if acc.payload is None:  # rows that were never a message: the codec writes them
            return self.payloads.lines(acc.fields, b"\t", tuple(cols), prefixes)
        received = [_copy_escape(text) for text in acc.payload_texts()]  # stored as received
        cols.append(Column("payload", "label", np.arange(acc.n), labels=received))
        prefixes["payload"] = b"\t"
        batch = Batch(cols)
        if self._received is None:
            self._received = Encoder("template", threads=1, prefixes=prefixes)
        return self._received.encode_bytes(batch)


def _first_occurrences(acc: Accepted) -> np.ndarray:
    """False for a (client, seq) seen earlier in the same batch: the first one received wins."""
    order = np.lexsort((acc.seq, acc.client))  # stable: equal keys keep arrival order
    c, s = acc.client[order], acc.seq[order]
    repeat = np.zeros(acc.n, bool)
    repeat[1:] = (c[1:] == c[:-1]) & (s[1:] == s[:-1])
    first = np.ones(acc.n, bool)
    first[order[repeat]] = False
    return first


def _copy_escape(text: str) -> str:
    """A value for PostgreSQL's COPY text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


# -------------------------------------------------------------------------------- SQLite


class SqliteStore:
    ROWS_PER_STATEMENT = 500  # multi-row VALUES: a statement step per 500 rows, not per row
    WIDTH = 8  # parameters per row

    def __init__(self) -> None:
        self.payloads = PayloadWriter()
        self._sql: dict[int, str] = {}

    def _insert(self, rows: int) -> str:
        if rows not in self._sql:
            values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
            self._sql[rows] = f"INSERT OR IGNORE INTO telemetry ({_COLS}) VALUES {values}"
        return self._sql[rows]

    def encode(self, acc: Accepted) -> Encoded:
        """Every row's parameters, row-major, filled a column at a time."""
        uniq, inverse = np.unique(acc.received_s, return_inverse=True)
        times = np.datetime_as_string(uniq.astype("datetime64[s]"), unit="s")
        stamps = np.char.add(np.char.replace(times, "T", " "), ".000000").astype(object)[inverse]
        n, width = acc.n, self.WIDTH
        flat: list[object] = [None] * (n * width)
        flat[0::width] = np.array(acc.clients, dtype=object)[acc.client].tolist()
        flat[1::width] = acc.seq.tolist()
        flat[2::width] = stamps.tolist()
        flat[3::width] = np.array(acc.reservoirs, dtype=object)[acc.client].tolist()
        flat[4::width] = acc.distance.round(1).tolist()
        flat[5::width] = acc.level.round(2).tolist()
        flat[6::width] = acc.liters.round(1).tolist()
        flat[7::width] = (
            self.payloads.lines(acc.fields).decode().split("\n")[:-1]  # one per row, encoded
            if acc.payload is None
            else acc.payload_texts()  # as received
        )
        return Encoded(acc, flat)

    def store(self, conn: Connection, enc: Encoded, lo: int, hi: int) -> int:
        """Rows ``lo:hi`` stored; the caller's transaction commits them."""
        raw_conn: Any = conn.connection.driver_connection
        before = raw_conn.total_changes
        width, per = self.WIDTH, self.ROWS_PER_STATEMENT
        flat, step = enc.data, per * width
        start, end = lo * width, hi * width
        whole = start + ((hi - lo) // per) * step
        if whole > start:
            raw_conn.executemany(
                self._insert(per), (flat[i : i + step] for i in range(start, whole, step))
            )
        if whole < end:
            raw_conn.execute(self._insert((end - whole) // width), flat[whole:end])
        return raw_conn.total_changes - before
