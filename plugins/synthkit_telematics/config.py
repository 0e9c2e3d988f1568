"""A telematics run's configuration (``TelematicsConfig``: drivers, seed, start, weights,
base point, offsets) and the identity its event ids derive from."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthkit.api import rand
from synthkit_telematics.context import Context

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; --start overrides it


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_START = datetime(
    9000, 1, 1, tzinfo=UTC
)  # a millennium of simulated minutes before year 9999 ends


class TelematicsConfig(BaseModel):
    """Everything that decides a telematics run; same config + seed => same bytes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drivers: int = Field(10, ge=1, le=1_000_000)
    seed: int = 42
    start: datetime = DEFAULT_START
    base_lat: float = Field(37.7749, ge=-89.0, le=89.0)
    base_lon: float = Field(-122.4194, ge=-180.0, le=180.0)
    jitter_deg: float = Field(0.25, ge=0.0, le=5.0)
    utc_offset_hours: float = Field(-8.0, ge=-12.0, le=14.0)
    trip_avg_minutes: float = Field(28.0, gt=5.0, le=600.0)
    trip_std_minutes: float = Field(9.0, ge=0.0, le=300.0)
    gap_avg_minutes: float = Field(180.0, gt=0.0, le=10_000.0)
    extreme_variance: bool = False
    weights: Mapping[str, float] = Field(default_factory=dict)
    context: Context | None = None  # regions, weather, traffic (an options file)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if not EPOCH <= value < LAST_START:
            raise ValueError(
                f"must be from {EPOCH:%Y-%m-%d} to before {LAST_START:%Y-%m-%d} (events are "
                "written with four-digit years, and a run's clock moves on from its start)"
            )
        return value

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: Mapping[str, float]) -> Mapping[str, float]:
        for name, w in value.items():
            if not (isinstance(w, int | float) and math.isfinite(w) and w >= 0):
                raise ValueError(f"weight for {name!r} must be a finite number >= 0, got {w!r}")
        return dict(value)


def run_identity(config: TelematicsConfig, weights: Mapping[str, float], salt: str = "") -> int:
    """The key a run's identifiers (``event_id``, ``trip_id``) derive from: the seed and every
    setting that shapes the data (start, fleet size, base point, offsets, trip lengths, the
    event types and their weights), plus ``salt`` for what else makes a run its own (a live
    stream's wall-clock start). Two runs that differ in any of them share no identifier, so a
    store that dedupes on ``event_id`` never drops a second run's events; the same inputs give
    the same identifiers, byte for byte."""
    doc = config.model_dump(mode="json", exclude={"context"})
    if config.context is not None and config.context.world != Context().world:
        doc["context"] = config.context.world  # a world of its own: identifiers of its own
    doc["weights"] = dict(sorted(weights.items()))  # what each type weighed, defaults included
    return rand.stable_key("synthkit.telematics.ids", json.dumps(doc, sort_keys=True), salt)
