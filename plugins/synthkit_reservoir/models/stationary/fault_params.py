"""The parameters of the stationary tank's physics faults (light: registering the fault types
loads these, not the kernels)."""

from __future__ import annotations

from pydantic import Field

from synthkit.api import FaultParams


class LeakParams(FaultParams):
    liters_per_hour: float = Field(gt=0, description="water lost from the tank each hour")


class BatteryDrainParams(FaultParams):
    extra_pct_per_day: float = Field(gt=0, description="battery drained beyond the usual")
    restart_pct: float = Field(
        10.0, gt=0, le=100, description="an empty device restarts when the sun charges it to this"
    )
