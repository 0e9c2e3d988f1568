"""Ledgers: what a store holds, per stream, in the shape reconcile reads it.

A :class:`Ledger` answers three set-based questions, never by looping over rows in Python:

- :meth:`Ledger.tallies`: per stream, how many rows, how many distinct seqs, the lowest and
  highest seq (one ``GROUP BY`` pass);
- :meth:`Ledger.islands`: for the streams that are not simply complete, the runs of
  consecutive seqs it holds (gaps-and-islands: ``seq - DENSE_RANK()`` is constant along a
  run), with the rows in each, so duplicates show;
- :meth:`Ledger.late`: how many rows of given seq ranges were stored after a given instant.

:class:`SqlLedger` asks any SQLAlchemy database these questions about one table (an ingest
sink plugin names its table and columns); :class:`FileLedger` loads a CSV or JSON-lines file
of stored (client, seq[, stored_at]) pairs, as a third-party backend exports them, into an
in-memory SQLite database and asks the same SQL, so there is one copy of each rule.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from synthkit.errors import ConfigError


@dataclass(frozen=True)
class Tally:
    rows: int
    distinct: int
    low: int
    high: int


@dataclass(frozen=True)
class Island:
    """Seqs ``low..high``, every one stored, in ``rows`` rows (more than the seqs: duplicates)."""

    low: int
    high: int
    rows: int


class Ledger(ABC):
    """What a store holds, per stream (a device, a driver: the client id of its rows). A
    ledger that cannot answer (its store is away, its table missing) raises a
    ``ConfigError`` naming the store (``where``), so reconcile says so in one line."""

    where: str = ""  # how to name the store in messages (a redacted URL, a file)

    @abstractmethod
    def tallies(self, streams: Sequence[str]) -> dict[str, Tally]:
        """Per stream of ``streams`` that has any row: rows, distinct seqs, lowest and highest seq."""

    @abstractmethod
    def islands(self, streams: Sequence[str]) -> dict[str, list[Island]]:
        """Per stream, the runs of consecutive stored seqs, lowest first."""

    def late(self, ranges: Mapping[str, tuple[int, int]], after: datetime) -> dict[str, int]:
        """Per stream, rows with a seq in its range that were stored after ``after`` (a ledger
        that does not know when rows were stored returns {})."""
        return {}

    def close(self) -> None:
        """Release connections."""


class SqlLedger(Ledger):
    """One table of a SQLAlchemy database: ``client`` and ``seq`` columns, optionally the
    ``stored_at`` column (a timestamp) and whether (client, seq) is unique there."""

    def __init__(
        self,
        engine: Any,
        table: str,
        *,
        client: str,
        seq: str,
        stored_at: str | None = None,
        unique: bool = False,
        where: str = "",
        dispose: bool = True,
    ) -> None:
        from sqlalchemy import column
        from sqlalchemy import table as sql_table

        cols: list[Any] = [column(client), column(seq)] + ([column(stored_at)] if stored_at else [])
        self.engine, self.t, self.unique, self.dispose = (
            engine,
            sql_table(table, *cols),
            unique,
            dispose,
        )
        self.client, self.seq = self.t.c[client], self.t.c[seq]
        self.stored_at = self.t.c[stored_at] if stored_at else None
        self.where = where or table

    @contextlib.contextmanager
    def _answering(self) -> Iterator[Any]:
        """A connection; a database error is a ConfigError naming the store."""
        from sqlalchemy.exc import DBAPIError

        try:
            with self.engine.connect() as conn:
                _sort_tuned(conn)
                yield conn
        except DBAPIError as exc:
            from synthkit.database import describe_db_error

            raise describe_db_error(self.where, exc) from None

    def tallies(self, streams: Sequence[str]) -> dict[str, Tally]:
        from sqlalchemy import func, select

        distinct = func.count() if self.unique else func.count(self.seq.distinct())
        query = select(
            self.client, func.count(), distinct, func.min(self.seq), func.max(self.seq)
        ).group_by(self.client)
        wanted = set(streams)
        with self._answering() as conn:
            return {
                c: Tally(int(n), int(d), int(lo), int(hi))
                for c, n, d, lo, hi in conn.execute(query)
                if c in wanted
            }

    def islands(self, streams: Sequence[str]) -> dict[str, list[Island]]:
        from sqlalchemy import bindparam, func, select

        out: dict[str, list[Island]] = {s: [] for s in streams}
        if not streams:
            return out
        rank = func.dense_rank().over(partition_by=self.client, order_by=self.seq)
        inner = (
            select(self.client.label("c"), self.seq.label("s"), (self.seq - rank).label("g"))
            .where(self.client.in_(bindparam("streams", expanding=True)))
            .subquery()
        )
        query = (
            select(inner.c.c, func.min(inner.c.s), func.max(inner.c.s), func.count())
            .group_by(inner.c.c, inner.c.g)
            .order_by(inner.c.c, func.min(inner.c.s))
        )
        with self._answering() as conn:
            for chunk in _chunks(list(streams), 500):
                for c, lo, hi, n in conn.execute(query, {"streams": chunk}):
                    out[c].append(Island(int(lo), int(hi), int(n)))
        return out

    def late(self, ranges: Mapping[str, tuple[int, int]], after: datetime) -> dict[str, int]:
        from sqlalchemy import and_, func, or_, select

        if self.stored_at is None or not ranges:
            return {}
        out: dict[str, int] = {}
        with self._answering() as conn:
            for chunk in _chunks(
                sorted(ranges.items()), 200
            ):  # an OR per stream: SQLite has no VALUES aliases
                wanted = or_(
                    *(and_(self.client == c, self.seq.between(lo, hi)) for c, (lo, hi) in chunk)
                )
                query = (
                    select(self.client, func.count())
                    .where(self.stored_at > after, wanted)
                    .group_by(self.client)
                )
                out.update({c: int(n) for c, n in conn.execute(query)})
        return out

    def close(self) -> None:
        if self.dispose:
            self.engine.dispose()


class FileLedger(SqlLedger):
    """A CSV or JSON-lines file of stored pairs: ``client`` and ``seq`` columns (other names
    with ``client=``/``seq=``), and ``stored_at`` (ISO 8601) when present."""

    def __init__(
        self,
        path: str | Path,
        *,
        client: str = "client",
        seq: str = "seq",
        stored_at: str = "stored_at",
    ) -> None:
        from sqlalchemy import create_engine, text

        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(
                f"{self.path}: no such file",
                hint="give --stored a CSV or JSON-lines file of stored (client, seq) pairs",
            )
        engine = create_engine("sqlite://")  # one connection, in memory
        rows = _pairs(self.path, client, seq, stored_at)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE stored (client TEXT NOT NULL, seq INTEGER NOT NULL, stored_at TEXT)"
                )
            )
            raw = conn.connection.driver_connection
            assert raw is not None  # a live connection has its driver's
            batch: list[tuple[str, int, str | None]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= 50_000:
                    raw.executemany("INSERT INTO stored VALUES (?, ?, ?)", batch)
                    batch = []
            raw.executemany("INSERT INTO stored VALUES (?, ?, ?)", batch)
        super().__init__(
            engine,
            "stored",
            client="client",
            seq="seq",
            stored_at="stored_at",
            where=str(self.path),
        )

    def late(self, ranges: Mapping[str, tuple[int, int]], after: datetime) -> dict[str, int]:
        # ISO text compares as time when written the same way: the file's own form
        return super().late(ranges, after.isoformat().replace("+00:00", "Z"))  # type: ignore[arg-type]


def _pairs(
    path: Path, client: str, seq: str, stored_at: str
) -> Iterator[tuple[str, int, str | None]]:
    """(client, seq, stored_at) of every line; a line without them is a ConfigError naming it."""
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
    with path.open(encoding="utf-8", newline="") as fh:
        reader: Iterator[Any] = fh if jsonl else csv.DictReader(fh)
        for number, row in enumerate(reader, 1 if jsonl else 2):
            try:
                if jsonl:
                    if not row.strip():
                        continue
                    row = json.loads(row)
                value = row[seq]
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError(f"seq {value!r} is not a whole number")
                yield (
                    str(row[client]),
                    int(value),
                    (str(row[stored_at]) if row.get(stored_at) not in (None, "") else None),
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                what = f"no {exc} column" if isinstance(exc, KeyError) else str(exc)
                raise ConfigError(
                    f"{path}:{number}: {what}",
                    hint=f"each line needs {client!r} and {seq!r} (rename with --stored-client / --stored-seq)",
                ) from None


def _sort_tuned(conn: Any) -> None:
    """SQLite groups by sorting: let its sorter use worker threads, and size its in-memory runs
    from the default page cache (an ingestion engine's 128 MiB cache makes one large in-memory
    sort, measured 1.7x slower on 10M rows: benchmarks/bench_reconcile.py)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")
        conn.exec_driver_sql("PRAGMA cache_size=-2000")


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
