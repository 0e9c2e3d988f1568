"""``anomaly_burst``'s parameters (pydantic only: registering the fault type loads nothing
heavy)."""

from __future__ import annotations

from pydantic import Field, field_validator

from synthkit.api import FaultParams


class BurstParams(FaultParams):
    weights: dict[str, float] = Field(min_length=1)  # event type -> how many times likelier

    @field_validator("weights")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        for name, w in value.items():
            if w < 0:
                raise ValueError(f"{name}: a weight multiplier is >= 0")
        return value
