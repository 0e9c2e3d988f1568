"""Ledgers: what a store holds, per stream, in the shape reconcile reads it.

A :class:`Ledger` answers three set-based questions, never by looping over rows in Python:

- :meth:`Ledger.tallies`: per stream, how many rows, how many distinct seqs, the lowest and
  highest seq;
- :meth:`Ledger.islands`: for the streams that are not simply complete, the runs of
  consecutive seqs it holds, with the rows in each, so duplicates show;
- :meth:`Ledger.late`: how many rows of given seq ranges were stored after a given instant.

A store answers them where its rows are (an ingest sink's ledger asks its own database with
set-based queries: the reference database's ``GROUP BY`` and gaps-and-islands SQL). The core
names no database: :class:`PairsLedger` answers from (client, seq[, stored_at]) columns in
memory, sorted once with numpy, and :class:`FileLedger` is one over a CSV or JSON-lines file
of stored pairs, as a third-party backend exports them (``reconcile --stored FILE``).
"""

from __future__ import annotations

import csv
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

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


NOT_STORED = np.datetime64("NaT", "us")  # a pair whose store time is unknown is never late


class PairsLedger(Ledger):
    """Stored (client, seq) pairs, and when each was stored (``NaT``: unknown), as columns:
    sorted once by (client, seq), every answer is a vectorised pass over them."""

    def __init__(
        self,
        clients: Sequence[str] | np.ndarray,
        seqs: Sequence[int] | np.ndarray,
        stored_at: np.ndarray | None = None,
        *,
        where: str = "",
    ) -> None:
        names, codes = np.unique(np.asarray(clients, dtype=str), return_inverse=True)
        seq = np.asarray(seqs, dtype=np.int64)
        order = np.lexsort((seq, codes))
        self.names: list[str] = names.tolist()
        self.codes, self.seq = codes[order], seq[order]
        times = np.full(len(seq), NOT_STORED) if stored_at is None else stored_at.astype("M8[us]")
        self.stored_at = times[order]
        bounds = np.searchsorted(self.codes, np.arange(len(names) + 1))
        self.span = {name: (int(bounds[i]), int(bounds[i + 1])) for i, name in enumerate(names)}
        # the first row of each distinct (client, seq): distinct seqs, islands
        self.first = np.ones(len(seq), dtype=bool)
        self.first[1:] = (self.codes[1:] != self.codes[:-1]) | (self.seq[1:] != self.seq[:-1])
        self.where = where

    @classmethod
    def of_rows(
        cls, rows: Iterable[tuple[str, int, datetime | str | None]], *, where: str = ""
    ) -> PairsLedger:
        """A ledger of (client, seq, stored_at) rows, as a database query or a file yields
        them; ``stored_at`` an aware or UTC datetime, an ISO 8601 text, or None."""
        return cls(*_columns(rows), where=where)

    def tallies(self, streams: Sequence[str]) -> dict[str, Tally]:
        out = {}
        for stream in streams:
            start, end = self.span.get(stream, (0, 0))
            if end > start:
                distinct = int(np.count_nonzero(self.first[start:end]))
                out[stream] = Tally(
                    end - start, distinct, int(self.seq[start]), int(self.seq[end - 1])
                )
        return out

    @cached_property
    def _islands(self) -> dict[str, list[Island]]:
        """Every client's islands: a new one starts where the client changes or a distinct
        seq is not the one after the last."""
        starts = np.flatnonzero(self.first)
        codes, seqs = self.codes[starts], self.seq[starts]
        opens = np.ones(len(starts), dtype=bool)
        opens[1:] = (codes[1:] != codes[:-1]) | (seqs[1:] != seqs[:-1] + 1)
        heads = np.flatnonzero(opens)
        if not len(heads):
            return {}
        lasts = np.append(heads[1:], len(starts)) - 1
        rows = np.diff(np.append(starts[heads], len(self.seq)))
        out: dict[str, list[Island]] = {}
        for code, low, high, n in zip(
            codes[heads].tolist(), seqs[heads].tolist(), seqs[lasts].tolist(), rows.tolist()
        ):
            out.setdefault(self.names[code], []).append(Island(low, high, n))
        return out

    def islands(self, streams: Sequence[str]) -> dict[str, list[Island]]:
        return {stream: list(self._islands.get(stream, ())) for stream in streams}

    def late(self, ranges: Mapping[str, tuple[int, int]], after: datetime) -> dict[str, int]:
        cut = np.datetime64(utc_instant(after), "us")
        out = {}
        for stream, (low, high) in ranges.items():
            start, end = self.span.get(stream, (0, 0))
            seq = self.seq[start:end]
            lo, hi = np.searchsorted(seq, low), np.searchsorted(seq, high, side="right")
            n = int(np.count_nonzero(self.stored_at[start + lo : start + hi] > cut))
            if n:
                out[stream] = n
        return out


def utc_instant(at: datetime | str | None) -> datetime | None:
    """``at`` as a naive UTC datetime (numpy's form); a naive one is taken as UTC already."""
    if at is None or at == "":
        return None
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


class FileLedger(PairsLedger):
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
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(
                f"{self.path}: no such file",
                hint="give --stored a CSV or JSON-lines file of stored (client, seq) pairs",
            )
        columns = _columns(_pairs(self.path, client, seq, stored_at))
        super().__init__(*columns, where=str(self.path))


def _columns(
    rows: Iterable[tuple[str, int, datetime | str | None]],
) -> tuple[list[str], list[int], np.ndarray]:
    clients: list[str] = []
    seqs: list[int] = []
    times: list[datetime | None] = []
    for client, seq, at in rows:
        clients.append(client)
        seqs.append(seq)
        times.append(utc_instant(at))
    return clients, seqs, np.array(times, dtype="M8[us]")


def _pairs(
    path: Path, client: str, seq: str, stored_at: str
) -> Iterator[tuple[str, int, datetime | None]]:
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
                at = row.get(stored_at)
                try:
                    when = utc_instant(None if at is None else str(at))
                except ValueError:
                    raise ValueError(f"stored_at {at!r} is not an ISO 8601 time") from None
                yield str(row[client]), int(value), when
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                what = f"no {exc} column" if isinstance(exc, KeyError) else str(exc)
                raise ConfigError(
                    f"{path}:{number}: {what}",
                    hint=f"each line needs {client!r} and {seq!r} (rename with --stored-client / --stored-seq)",
                ) from None
