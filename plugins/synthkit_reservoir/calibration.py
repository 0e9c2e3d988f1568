"""Ultrasonic level-sensor calibration: liters <-> level_pct <-> distance, as ingestion does it.

The sensor looks down from the top of the tank: ``empty_mm`` is the distance it reads over an
empty tank, ``full_mm`` over a full one. Without explicit distances the seed's fallback
applies: ``empty = height_mm``, ``full = 0``. Shared by the device models (which turn a water
volume into readings) and ingestion (which turns readings back into a volume), so both sides
always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The formula, once: plain arithmetic, so the same functions serve floats, numpy arrays
# (ingestion) and compiled kernels (the models, through fleet.py's njit wrappers).


def distance_from_level(empty_mm, full_mm, level_pct):  # float or array
    """The distance the sensor reads over water at ``level_pct``."""
    return empty_mm - (empty_mm - full_mm) * level_pct / 100.0


def level_from_distance(empty_mm, full_mm, distance_mm):  # float or array
    """The level a reading means, unclipped (a reading past the calibration is over 100 or
    under 0; callers clip)."""
    return (empty_mm - distance_mm) / (empty_mm - full_mm) * 100.0


def liters_from_level(capacity_liters, level_pct):  # float or array
    return capacity_liters * level_pct / 100.0


@dataclass(frozen=True)
class Calibration:
    empty_mm: float
    full_mm: float
    capacity_liters: float

    @classmethod
    def resolve(
        cls,
        capacity_liters: float,
        height_mm: float | None,
        empty_mm: float | None,
        full_mm: float | None,
    ) -> Calibration:
        """Explicit distances win; otherwise ``height_mm`` gives empty = height, full = 0.
        Raises ``ValueError`` when neither is usable."""
        if capacity_liters is None or capacity_liters <= 0:
            raise ValueError("capacity_liters must be > 0")
        if empty_mm is not None and full_mm is not None:
            if not empty_mm > full_mm >= 0:
                raise ValueError(
                    f"sensor_empty_distance_mm ({empty_mm:g}) must be greater than "
                    f"sensor_full_distance_mm ({full_mm:g}), and both >= 0"
                )
            return cls(float(empty_mm), float(full_mm), float(capacity_liters))
        if (empty_mm is None) != (full_mm is None):
            raise ValueError(
                "give both sensor_empty_distance_mm and sensor_full_distance_mm, or neither"
            )
        if height_mm is not None and height_mm > 0:
            return cls(float(height_mm), 0.0, float(capacity_liters))
        raise ValueError("no usable calibration: give sensor distances or a positive height_mm")

    def level_pct_from_distance(self, distance_mm: float) -> float:
        return min(100.0, max(0.0, level_from_distance(self.empty_mm, self.full_mm, distance_mm)))

    def distance_from_level_pct(self, level_pct: float) -> float:
        return distance_from_level(self.empty_mm, self.full_mm, level_pct)

    def liters_from_level_pct(self, level_pct: float) -> float:
        return liters_from_level(self.capacity_liters, level_pct)


class TankParams(BaseModel):
    """What every tank-with-a-level-sensor model shares (models override the defaults):
    the tank, its sensor calibration, its starting level. Unknown keys and NaN are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    capacity_liters: float = Field(5000.0, gt=0)
    height_mm: float | None = Field(2000.0, gt=0)
    sensor_empty_distance_mm: float | None = Field(None, ge=0)
    sensor_full_distance_mm: float | None = Field(None, ge=0)
    initial_level_pct: float = Field(50.0, ge=0, le=100)

    @model_validator(mode="after")
    def _calibration_usable(self) -> TankParams:
        self.calibration()  # raises ValueError when unusable
        return self

    def calibration(self) -> Calibration:
        return Calibration.resolve(
            self.capacity_liters,
            self.height_mm,
            self.sensor_empty_distance_mm,
            self.sensor_full_distance_mm,
        )
