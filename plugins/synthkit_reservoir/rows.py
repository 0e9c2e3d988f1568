"""The telemetry row: one emission as a CSV row (payload fields plus the modelled truth).

Payload contract (section 10) fields: ``schema_version``, ``local_timestamp_ms``, ``seq``,
``raw_1..raw_N`` (``sensors.ultrasonic.raw_readings``), ``temperature_c``,
``battery_percentage``, ``signal_strength_dbm``, ``latitude``/``longitude`` (mobile only).
Modelled truth, for analysis: ``liters``, ``level_pct``, ``distance_mm`` (noise-free),
``inflow_liters``, ``outflow_liters`` (demand served or delivered), ``loss_liters`` (in
transit), ``distance_km`` (driven since the previous row), ``speed_kmh``, ``point_id``.
"""

from __future__ import annotations

import numpy as np

from synthkit.api import Batch, Column, FieldSpec, iso_seconds, stable_key
from synthkit_reservoir.engine import FleetBlock, FleetRun
from synthkit_reservoir.family import MODES
from synthkit_reservoir.layout import BASE, DECIMALS, MOBILE, SCHEMA_VERSION, SENSOR, TRUTH


def columns_for(run: FleetRun) -> tuple[str, ...]:
    raw = tuple(f"raw_{i + 1}" for i in range(run.max_samples))
    return BASE + TRUTH + raw + SENSOR + MOBILE + tuple(spec.name for spec in run.extra)


class RowBuilder:
    """Turns a run's blocks into batches with the columns of :func:`columns_for`."""

    def __init__(self, run: FleetRun) -> None:
        self.run = run
        self.columns = columns_for(run)
        devs = run.devices
        self.device_labels = tuple(d.device_id for d in devs)
        self.device_keys = np.array(
            [stable_key("device clock", d.device_id) for d in devs], np.uint64
        )
        self.modes = MODES
        self.mode_code = np.array([self.modes.index(d.mode) for d in devs], np.int64)
        arch = sorted({d.archetype.name for d in devs})
        self.archetypes = tuple(arch)
        self.arch_code = np.array([arch.index(d.archetype.name) for d in devs], np.int64)

    def batch(self, block: FleetBlock) -> Batch:
        n = block.rows
        dev = block.device
        c = block.columns
        cols = [
            Column("device_id", "label", dev, labels=self.device_labels),
            Column("seq", "int", block.seq),
            Column(
                "received_at",
                "fixed",
                iso_seconds(block.time_s),
                type="timestamp",
                epoch=block.time_s,
            ),
            Column(
                "local_timestamp_ms",
                "int",
                local_timestamp_ms(block.time_s, block.seq, self.device_keys[dev]),
            ),
            # a number, as in the payload (a label of ints: written as a literal, typed int)
            Column("schema_version", "label", np.zeros(n, np.int64), labels=(int(SCHEMA_VERSION),)),
            Column("mode", "label", self.mode_code[dev], labels=self.modes),
            Column("archetype", "label", self.arch_code[dev], labels=self.archetypes),
        ]
        for name in TRUTH:
            cols.append(_decimal(name, c.get(name), n))
        for i in range(self.run.max_samples):
            raw = block.raw_readings[:, i]
            cols.append(Column(f"raw_{i + 1}", "int", raw, present=raw >= 0))
        for name in SENSOR[:2]:
            cols.append(_decimal(name, c.get(name), n))
        cols.append(Column("signal_strength_dbm", "int", c["signal_strength_dbm"]))
        for name in MOBILE[:3]:
            cols.append(_decimal(name, c.get(name), n))
        point = c.get("point_id")
        if point is None:
            point = np.full(n, -1, np.int64)
        labels = self.run.point_labels or ("",)
        cols.append(
            Column("point_id", "label", np.maximum(point, 0), labels=labels, present=point >= 0)
        )
        for spec in self.run.extra:  # what models declare beyond the layout, after it
            cols.append(_extra(spec, c[spec.name], block.present.get(spec.name)))
        batch = Batch(cols)
        if batch.names != self.columns:  # the CSV header is self.columns: they must agree
            raise AssertionError(f"row layout {batch.names} differs from header {self.columns}")
        return batch


def _decimal(name: str, values: np.ndarray | None, n: int) -> Column:
    if values is None:
        return Column(
            name, "decimal", np.zeros(n), decimals=DECIMALS[name], present=np.zeros(n, bool)
        )
    present = ~np.isnan(values)
    clean = np.where(present, values, 0.0)
    return Column(
        name, "decimal", clean, decimals=DECIMALS[name], present=None if present.all() else present
    )


def _extra(spec: FieldSpec, values: np.ndarray, present: np.ndarray | None) -> Column:
    """A model's own column: decimals with NaN as absent; ints, bools and choices (codes
    into ``spec.choices``, -1 absent) with ``present`` for the rows of models that lack it."""
    if spec.kind == "decimal":
        ok = ~np.isnan(values)
        return Column(
            spec.name,
            "decimal",
            np.where(ok, values, 0.0),
            decimals=spec.decimals,
            present=None if ok.all() else ok,
        )
    if spec.kind == "str":
        codes = values.astype(np.int64)
        ok = codes >= 0
        return Column(
            spec.name,
            "label",
            np.maximum(codes, 0),
            labels=tuple(str(c) for c in spec.choices) or ("",),
            present=None if ok.all() else ok,
        )
    return Column(spec.name, "int", values.astype(np.int64), present=present)


def local_timestamp_ms(time_s: np.ndarray, seq: np.ndarray, device_key: np.ndarray) -> np.ndarray:
    """The device clock when it sampled: 150-1149 ms before the broker received the
    message, a fixed function of (device, seq) so a re-send is identical and devices that
    send at the same moment do not share one clock reading."""
    mixed = seq.astype(np.uint64) * np.uint64(2654435761) + device_key.astype(np.uint64)
    latency = ((mixed ^ (mixed >> np.uint64(29))) % np.uint64(1000)).astype(np.int64) + 150
    return time_s * 1000 - latency
