"""The family's rows: meters stepped interval by interval into columnar batches.

Rows are interval-major, meters in scenario order; meter ``m`` at interval ``k`` (from the
window's origin) has ``seq = first_seq[m] + k``. Same scenario, seed and window: the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synthkit.api import Batch, Column, FieldSpec, iso_seconds
from synthkit_energy_meter.scenario import LoadedMeters


class MeterRun:
    """``loaded``'s meters from ``origin_s``, one row per meter every interval."""

    def __init__(self, loaded: LoadedMeters, first_seq: Sequence[int], origin_s: int) -> None:
        meters = loaded.meters
        self.ids = tuple(m.device_id for m in meters)
        self.first_seq = np.array(first_seq, np.int64)
        self.origin_s = origin_s
        self.interval_s = loaded.scenario.energy_meter.interval_minutes * 60
        archetypes = sorted({m.archetype.name for m in meters})
        self.archetypes = tuple(archetypes)
        self.arch_code = np.array([archetypes.index(m.archetype.name) for m in meters], np.int64)
        by_model: dict[str, list[int]] = {}
        for i, m in enumerate(meters):
            by_model.setdefault(m.model.name, []).append(i)
        self.groups = []
        specs: dict[str, FieldSpec] = {}
        for idx in by_model.values():
            model = meters[idx[0]].model
            sim = model.factory(
                [self.ids[i] for i in idx],
                [meters[i].params for i in idx],
                loaded.scenario.seed,
                self.interval_s,
            )
            self.groups.append((sim, np.array(idx, np.int64)))
            specs.update((c.name, c) for c in model.columns if c.name not in specs)
        self.specs = tuple(specs.values())
        self.columns = ("meter_id", "seq", "ts", *(s.name for s in self.specs), "archetype")

    def batch(self, k0: int, n: int) -> Batch:
        meters = len(self.ids)
        values = {s.name: np.full(n * meters, np.nan) for s in self.specs}
        for sim, idx in self.groups:  # each model's rows into their interval-major places
            rows = (np.arange(n)[:, None] * meters + idx[None, :]).ravel()
            for name, column in sim.emit(k0, n, self.origin_s).items():
                values[name][rows] = column
        meter = np.tile(np.arange(meters, dtype=np.int64), n)
        k = np.repeat(np.arange(k0, k0 + n, dtype=np.int64), meters)
        cols = [
            Column("meter_id", "label", meter, labels=self.ids),
            Column("seq", "int", self.first_seq[meter] + k),
            Column(
                "ts", "fixed", iso_seconds(self.origin_s + k * self.interval_s), type="timestamp"
            ),
        ]
        for spec in self.specs:
            v = values[spec.name]
            ok = ~np.isnan(v)
            present = None if ok.all() else ok
            if spec.kind == "decimal":
                cols.append(
                    Column(
                        spec.name,
                        "decimal",
                        np.where(ok, v, 0.0),
                        decimals=spec.decimals,
                        present=present,
                    )
                )
            else:
                cols.append(
                    Column(spec.name, "int", np.where(ok, v, 0).astype(np.int64), present=present)
                )
        cols.append(Column("archetype", "label", self.arch_code[meter], labels=self.archetypes))
        return Batch(cols)
