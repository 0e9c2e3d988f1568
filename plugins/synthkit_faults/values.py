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
    MalformedParams,
    NoiseParams,
    OffsetParams,
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
