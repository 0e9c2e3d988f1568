"""Faults on what a device reports: each changes the values of the columns it names (a
glob: ``raw_*``) in the records it hits, and labels a record only where a value changed."""

from __future__ import annotations

import fnmatch
from dataclasses import replace

import numpy as np

from synthkit.api import Batch, Column, Draws, Fault, Hit
from synthkit_faults.params import (
    ColumnParams,
    DriftParams,
    FreezeParams,
    GpsFreezeParams,
    MalformedParams,
    NoiseParams,
    OffsetParams,
    SaturationParams,
    SpikeParams,
    StuckParams,
)


def _matching(names: tuple[str, ...], pattern: str) -> list[str]:
    """The column names a fault's ``column`` glob names (case counts)."""
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


class ValueFault(Fault):
    """Applies :meth:`changed` to each named column's values where hit (and present)."""

    def __init__(self, params: ColumnParams) -> None:
        self.params = params

    def targets(self, names: tuple[str, ...]) -> list[str]:
        return _matching(names, self.params.column)

    def check(self, columns: tuple[str, ...]) -> str:
        return "" if self.targets(columns) else f"no column matches {self.params.column!r}"

    def changed(self, values: np.ndarray, hit: Hit, draws: Draws, rows: np.ndarray) -> np.ndarray:
        """New float values for ``rows`` (the hit rows' indices), given theirs."""
        raise NotImplementedError

    def chosen(self, hit: Hit, draws: Draws) -> np.ndarray:
        """The hit records it changes (a spike: a share of them)."""
        return hit.rows

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        touched = np.zeros(batch.n, bool)
        rows = self.chosen(hit, draws)
        out = []
        for name in self.targets(batch.names):
            c = batch.column(name)
            if c.kind in ("int", "decimal"):
                self.column_now = name  # for a fault that remembers values per column
                c, changed = _changed_column(c, self, rows, hit, draws)
                touched |= changed
                out.append(c)
        return batch.replaced(*out), touched


def _changed_column(
    c: Column, fault: ValueFault, chosen: np.ndarray, hit: Hit, draws: Draws
) -> tuple[Column, np.ndarray]:
    """The column with the fault's values where they change what is written (a change that
    rounds away at the column's decimals is none), and which rows those are."""
    scale = 10.0**c.decimals if c.kind == "decimal" else 1.0
    rows = np.flatnonzero(chosen if c.present is None else chosen & c.present)
    real = c.values[rows] / scale if c.scaled else c.values[rows].astype(np.float64)
    finite = np.isfinite(real)  # a value the record lacks stays lacking
    rows, real = rows[finite], real[finite]
    new = np.rint(fault.changed(real, hit, draws, rows) * scale)  # as the encoder writes
    old = c.values[rows] if c.kind == "int" or c.scaled else np.rint(c.values[rows] * scale)
    differs = new != old
    values = c.values.copy()
    written = new[differs]
    values[rows[differs]] = written if c.kind == "int" or c.scaled else written / scale
    changed = np.zeros(len(values), bool)
    changed[rows[differs]] = True
    return replace(c, values=values), changed


class StuckAt(ValueFault):
    """The sensor reads ``value`` whatever happens."""

    params: StuckParams

    def changed(self, values, hit, draws, rows):
        return np.full(len(rows), self.params.value)


class Drift(ValueFault):
    params: DriftParams

    def changed(self, values, hit, draws, rows):
        return values + self.params.per_day * hit.since_s[rows] / 86_400.0


class Spike(ValueFault):
    params: SpikeParams

    def chosen(self, hit, draws):
        return hit.rows & (draws.uniform(0) < self.params.rate)

    def changed(self, values, hit, draws, rows):
        return values * self.params.factor + self.params.add


class NoiseBurst(ValueFault):
    params: NoiseParams

    def changed(self, values, hit, draws, rows):
        return values + self.params.sigma * draws.normal(1)[rows]


class Offset(ValueFault):
    params: OffsetParams

    def changed(self, values, hit, draws, rows):
        return values * (1.0 + self.params.percent / 100.0) + self.params.add


class Saturation(ValueFault):
    """The sensor saturates: readings beyond its ``ceiling`` (or ``floor``) read it."""

    params: SaturationParams

    def changed(self, values, hit, draws, rows):
        return np.clip(values, self.params.floor, self.params.ceiling)


class Freeze(ValueFault):
    """The reading stops updating: each record in the window reads what the device reported
    when the window opened (per device, per column; a daily window freezes afresh each day)."""

    params: FreezeParams | GpsFreezeParams  # type: ignore[assignment]  # gps: no column glob

    def __init__(self, params: FreezeParams | GpsFreezeParams) -> None:
        super().__init__(params)  # type: ignore[arg-type]
        self.frozen: dict[tuple[str, int, int], float] = {}  # (column, stream, opened) -> value
        self.column_now = ""

    def changed(self, values, hit, draws, rows):
        assert hit.stream is not None and hit.time_s is not None
        opened = (hit.time_s[rows] - hit.since_s[rows]).astype(np.int64)
        keys = np.stack([hit.stream[rows].view(np.int64), opened], axis=1)
        unique, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        held = np.empty(len(unique))
        for k, ((stream, since), at) in enumerate(zip(unique.tolist(), first.tolist())):
            # the first record of the window in this run sets it (records come in time order)
            held[k] = self.frozen.setdefault((self.column_now, stream, since), values[at])
        return held[inverse.reshape(-1)]


class GpsFreeze(Freeze):
    """The position fix freezes: latitude and longitude stay where they were when the window
    opened while the vehicle moves on."""

    params: GpsFreezeParams

    def targets(self, names: tuple[str, ...]) -> list[str]:
        wanted = (self.params.latitude, self.params.longitude)
        return [n for n in names if n in wanted]

    def check(self, columns: tuple[str, ...]) -> str:
        missing = [c for c in (self.params.latitude, self.params.longitude) if c not in columns]
        return f"no column {missing[0]!r}" if missing else ""


class Malformed(Fault):
    """A record with a bad field, to exercise rejection paths: left out, or out of range."""

    def __init__(self, params: MalformedParams) -> None:
        self.params = params

    def check(self, columns: tuple[str, ...]) -> str:
        ok = _matching(columns, self.params.column)
        return "" if ok else f"no column matches {self.params.column!r}"

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        bad = hit.rows & (draws.uniform(2) < self.params.share)
        changed = np.zeros(batch.n, bool)
        out = []
        for name in _matching(batch.names, self.params.column):
            c = batch.column(name)
            if c.kind in ("int", "decimal"):
                present = np.ones(batch.n, bool) if c.present is None else c.present.copy()
                hit_here = bad & present  # a field already absent is not made malformed again
                if self.params.mode == "missing":
                    present[hit_here] = False
                    c = replace(c, present=present)
                else:
                    scale = 10.0**c.decimals if c.scaled else 1.0
                    values = c.values.copy()
                    values[hit_here] = np.asarray(self.params.value * scale).astype(values.dtype)
                    hit_here &= values != c.values
                    c = replace(c, values=values)
                changed |= hit_here
                out.append(c)
        return batch.replaced(*out), changed
