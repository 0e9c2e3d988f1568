"""The built-in fault types' parameter models: light (pydantic only), so registering the
types at start-up loads no numpy; the faults themselves load when a scenario names them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from synthkit.api import FaultParams, duration_s


class DropParams(FaultParams):
    share: float = Field(1.0, gt=0, le=1)  # of the hit records


class DuplicateParams(FaultParams):
    every: int | None = Field(None, ge=1)  # every Nth seq of a device (seq % every == 0)
    share: float | None = Field(None, gt=0, le=1)  # or a share of the hit records
    copies: int = Field(1, ge=1, le=10)  # sent this many extra times, right after

    @model_validator(mode="after")
    def _one(self) -> DuplicateParams:
        if self.every is not None and self.share is not None:
            raise ValueError("give every or share, not both")
        return self


class LateParams(FaultParams):
    share: float = Field(1.0, gt=0, le=1)  # of the hit records
    delay: float = Field(gt=0)  # how long each is held back (90s, 15m, 2h)

    _duration = field_validator("delay", mode="before")(duration_s)


class OutOfOrderParams(FaultParams):
    share: float = Field(0.1, gt=0, le=1)  # of the hit records
    # each is held a random while between within/2 and within: longer than the devices'
    # cadence, and their own later records overtake it
    within: float = Field(900.0, gt=0)

    _duration = field_validator("within", mode="before")(duration_s)


class ClockSkewParams(FaultParams):
    column: str = "local_timestamp_ms"  # the device's own clock, in milliseconds
    offset_ms: int = 0  # off by this much from the window's start
    per_day_ms: int = 0  # and by this much more each day it has been open


class GpsJumpParams(FaultParams):
    rate: float = Field(0.01, gt=0, le=1)  # the share of hit fixes that jump
    km: float = Field(5.0, gt=0)  # how far
    latitude: str = "latitude"
    longitude: str = "longitude"


class GpsFreezeParams(FaultParams):
    latitude: str = "latitude"
    longitude: str = "longitude"


class ColumnParams(FaultParams):
    column: str = Field(min_length=1)  # a column name, or a glob (raw_*)


class StuckParams(ColumnParams):
    value: float = 0.0


class DriftParams(ColumnParams):
    per_day: float  # added per day the window has been open


class SpikeParams(ColumnParams):
    rate: float = Field(0.01, gt=0, le=1)  # the share of hit records that spike
    factor: float = 3.0  # multiplies the value
    add: float = 0.0  # then adds this


class NoiseParams(ColumnParams):
    sigma: float = Field(gt=0)  # the standard deviation of the added Gaussian noise


class OffsetParams(ColumnParams):
    add: float = 0.0  # a calibration offset
    percent: float = 0.0  # and a gain error: the value is off by this percentage


class MalformedParams(ColumnParams):
    share: float = Field(1.0, gt=0, le=1)  # of the hit records
    mode: Literal["missing", "value"] = "missing"  # the field left out, or set to ``value``
    value: float = -1.0


class FreezeParams(ColumnParams):
    pass  # the reading holds the value it had when the window opened


class SaturationParams(ColumnParams):
    ceiling: float | None = None  # readings above it read it
    floor: float | None = None  # readings below it read it

    @model_validator(mode="after")
    def _bounded(self) -> SaturationParams:
        if self.ceiling is None and self.floor is None:
            raise ValueError("give a ceiling, a floor or both")
        if self.ceiling is not None and self.floor is not None and self.floor >= self.ceiling:
            raise ValueError("floor must be below ceiling")
        return self
