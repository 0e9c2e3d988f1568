"""Faults of the device itself, for any family that has the columns: a clock that is off
(fixed, or growing each day) and a position fix that jumps (a GPS teleport)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from synthkit.api import Batch, Column, Draws, Fault, Hit
from synthkit_faults.params import ClockSkewParams, GpsJumpParams


class ClockSkew(Fault):
    """The device's clock is off: its timestamps shifted, fixed or growing (a drifting RTC)."""

    def __init__(self, params: ClockSkewParams) -> None:
        self.params = params

    def check(self, columns: tuple[str, ...]) -> str:
        return "" if self.params.column in columns else f"no column {self.params.column!r}"

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        column = batch.column(self.params.column)
        rows = hit.rows if column.present is None else hit.rows & column.present
        at = np.flatnonzero(rows)  # a few devices' rows, most often: only those are computed
        skew = self.params.offset_ms + np.rint(
            self.params.per_day_ms * hit.since_s[at] / 86_400.0
        ).astype(np.int64)
        values = column.values.copy()
        values[at] += skew.astype(values.dtype)
        changed = np.zeros(batch.n, bool)
        changed[at] = skew != 0
        return batch.replaced(replace(column, values=values)), changed


class GpsJump(Fault):
    """A position fix lands ``km`` away in a random direction (multipath, a bad fix)."""

    def __init__(self, params: GpsJumpParams) -> None:
        self.params = params

    def check(self, columns: tuple[str, ...]) -> str:
        missing = [c for c in (self.params.latitude, self.params.longitude) if c not in columns]
        return f"no column {missing[0]!r}" if missing else ""

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        lat_c, lon_c = batch.column(self.params.latitude), batch.column(self.params.longitude)
        lat, lon = _degrees(lat_c), _degrees(lon_c)
        jump = (
            hit.rows & (draws.uniform(5) < self.params.rate) & np.isfinite(lat) & np.isfinite(lon)
        )
        if lat_c.present is not None:
            jump &= lat_c.present
        bearing = 2.0 * np.pi * draws.uniform(6)
        dlat = self.params.km / 111.32 * np.cos(bearing)
        dlon = (
            self.params.km / (111.32 * np.maximum(np.cos(np.radians(lat)), 1e-6)) * np.sin(bearing)
        )
        new_lat = np.where(jump, np.clip(lat + dlat, -90.0, 90.0), lat)
        new_lon = np.where(jump, (lon + dlon + 180.0) % 360.0 - 180.0, lon)
        return batch.replaced(_written(lat_c, new_lat), _written(lon_c, new_lon)), jump


def _degrees(c: Column) -> np.ndarray:
    """A coordinate column's values in degrees (a scaled column holds them times 10**d)."""
    return c.values / 10.0**c.decimals if c.scaled else c.values.astype(np.float64)


def _written(c: Column, degrees: np.ndarray) -> Column:
    values = np.rint(degrees * 10.0**c.decimals) if c.scaled else degrees
    return replace(c, values=values.astype(c.values.dtype))
