"""The smart meter's parameters: what archetypes and ``parameter_overrides`` may set."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MeterParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    base_kw: float = Field(0.3, ge=0, le=1000)
    peak_kw: float = Field(2.5, ge=0, le=1000)
    peak_hours: tuple[int, ...] = (7, 8, 18, 19, 20, 21)  # UTC hours at peak load
    weekend_factor: float = Field(1.0, ge=0, le=10)
    noise: float = Field(0.1, ge=0, le=1)  # +- share of the load drawn per interval
    initial_kwh: float = Field(1000.0, ge=0)  # the register at the window's start
    nominal_v: float = Field(230.0, gt=0, le=1000)
