"""The world the drivers drive in, from a telematics options file (``--options-file``):
regions (several base points, each with its time zone and share of the drivers), weather
(rain, snow, fog... per region and hour, slowing traffic and raising the rates of the event
types it names) and traffic (congestion by local hour, slowing it). Each is written on every
event as a field (``region``, ``weather``, ``traffic``) when the file declares it.

    regions:
      - {name: west, base_lat: 37.77, base_lon: -122.42, utc_offset_hours: -8, share: 0.6}
      - {name: east, base_lat: 40.71, base_lon: -74.01, utc_offset_hours: -5, share: 0.4}
    weather:
      rain: {chance: 0.12, speed: 0.9, weights: {hard_braking: 2.5}}
      snow: {chance: 0.03, speed: 0.7, weights: {hard_braking: 4}}
    traffic:
      - {hours: "07:00-09:00", speed: 0.6, name: rush_hour}
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from synthkit.api import Column, ConfigError, Problems, load_yaml, rand, validate_section

CLEAR, FREE = "clear", "free"  # the weather and the traffic when nothing is declared for the hour
_HOURS = re.compile(r"^\s*(\d{1,2}):00\s*-\s*(\d{1,2}):00\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Strict):
    name: str = Field(min_length=1)
    base_lat: float = Field(ge=-89.0, le=89.0)
    base_lon: float = Field(ge=-180.0, le=180.0)
    utc_offset_hours: float = Field(0.0, ge=-12.0, le=14.0)
    share: float = Field(1.0, gt=0.0)


class Condition(_Strict):
    chance: float = Field(ge=0.0, le=1.0)  # of any one hour in any one region
    speed: float = Field(1.0, gt=0.0, le=1.5)  # traffic's speed times this
    weights: dict[str, float] = Field(default_factory=dict)  # event type -> rate times this

    @field_validator("weights")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        for name, w in value.items():
            if not (np.isfinite(w) and w >= 0):
                raise ValueError(f"{name}: a weight multiplier is a finite number >= 0")
        return value


class Congestion(_Strict):
    hours: str  # "HH:00-HH:00", local time; may wrap midnight
    speed: float = Field(gt=0.0, le=1.0)
    name: str = "congested"

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        m = _HOURS.match(value)
        if m is None or int(m[1]) > 24 or int(m[2]) > 24 or int(m[1]) % 24 == int(m[2]) % 24:
            raise ValueError(f"{value!r} is not a span of whole local hours (write 07:00-09:00)")
        return value

    def local_hours(self) -> list[int]:
        m = _HOURS.match(self.hours)
        assert m is not None  # validated
        first, end = int(m[1]) % 24, int(m[2]) % 24
        return [(first + i) % 24 for i in range((end - first) % 24)]


class Context(_Strict):
    regions: tuple[Region, ...] = ()
    weather: dict[str, Condition] = Field(default_factory=dict)
    traffic: tuple[Congestion, ...] = ()
    faults: Any = None  # the faults block: compiled against the fleet (anomalies.py)
    _doc: Any = PrivateAttr(None)  # the file, for the faults block's located problems

    @property
    def world(self) -> dict[str, Any]:
        """What shapes the drivers' world (what their event ids derive from): not the faults,
        which change records after the fact or are labelled where they change events."""
        return self.model_dump(mode="json", exclude={"faults"})

    @model_validator(mode="after")
    def _consistent(self) -> Context:
        if sum(c.chance for c in self.weather.values()) > 1.0 + 1e-9:
            raise ValueError("the weather's chances add up to more than 1")
        if CLEAR in self.weather:
            raise ValueError(f"{CLEAR!r} is the weather when no condition holds: name another")
        names = [r.name for r in self.regions]
        if len(set(names)) != len(names):
            raise ValueError("each region needs its own name")
        taken = [h for c in self.traffic for h in c.local_hours()]
        if len(set(taken)) != len(taken):
            raise ValueError("two traffic entries claim the same hour")
        return self


def read_context(path: Path) -> Context:
    """The options file at ``path``, validated: every problem located (file:line), exit 2."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such options file", hint="check --options-file")
    doc = load_yaml(str(path))
    problems = Problems(doc)
    context = validate_section(doc, Context, problems)
    problems.raise_any()
    assert context is not None
    context._doc = doc
    return context


class World:
    """A context laid out for the driver kernel: each driver's region, home base and time
    zone; the weather's per-hour draw and what each condition does; traffic per local hour."""

    def __init__(
        self,
        context: Context | None,
        type_names: Sequence[str],
        seed: int,
        base: tuple[float, float, float],
        driver_u: np.ndarray,
    ) -> None:
        context = context or Context()
        self.context = context
        n = len(driver_u)
        regions = context.regions or (
            Region(name="base", base_lat=base[0], base_lon=base[1], utc_offset_hours=base[2]),
        )
        shares = np.cumsum([r.share for r in regions])
        self.region = np.minimum(
            np.searchsorted(shares / shares[-1], driver_u, side="right"), len(regions) - 1
        ).astype(np.int64)
        self.region_names = tuple(r.name for r in regions)
        self.base_lat = np.array([r.base_lat for r in regions])[self.region]
        self.base_lon = np.array([r.base_lon for r in regions])[self.region]
        offsets = np.array([int(round(r.utc_offset_hours * 60)) for r in regions], np.int64)
        self.utc_offset_min = offsets[self.region] if n else np.zeros(0, np.int64)
        self._weather(context.weather, type_names, seed)
        self.traffic_speed = np.ones(24)
        self.traffic_code = np.zeros(24, np.int64)
        self.traffic_names: tuple[str, ...] = (FREE,)
        for c in context.traffic:
            if c.name not in self.traffic_names:
                self.traffic_names += (c.name,)
            for hour in c.local_hours():
                self.traffic_speed[hour] = c.speed
                self.traffic_code[hour] = self.traffic_names.index(c.name)

    def _weather(self, weather: Mapping[str, Condition], types: Sequence[str], seed: int) -> None:
        unknown = sorted({t for c in weather.values() for t in c.weights} - set(types))
        if unknown:
            raise ConfigError(
                f"the weather names unknown event type(s): {', '.join(unknown)}",
                hint=f"known event types: {', '.join(sorted(types))}",
            )
        self.weather_names = (CLEAR, *weather)
        self.weather_cdf = np.cumsum([c.chance for c in weather.values()])
        self.weather_speed = np.array([1.0, *(c.speed for c in weather.values())])
        self.weather_mult = np.ones((len(self.weather_names), len(types)))
        for i, c in enumerate(weather.values(), 1):
            for t, name in enumerate(types):
                self.weather_mult[i, t] = c.weights.get(name, 1.0)
        key = rand.stable_key("synthkit.telematics.weather", seed)
        # one key per region: every driver of a region has the same weather each hour
        self.weather_keys = rand.words(np.full(len(self.region), key, np.uint64), 0) ^ (
            self.region.astype(np.uint64)
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """The fields the context adds to every event."""
        c = self.context
        return tuple(
            name
            for name, declared in (
                ("region", c.regions),
                ("weather", c.weather),
                ("traffic", c.traffic),
            )
            if declared
        )

    def fields(self, drv: np.ndarray, weather: np.ndarray, hour: np.ndarray) -> list[Column]:
        """The fields it adds to a batch: each event's region (by its driver), weather (as
        the kernel drew it) and traffic (by its local hour)."""
        values = {
            "region": (self.region[drv], self.region_names),
            "weather": (weather, self.weather_names),
            "traffic": (self.traffic_code[hour], self.traffic_names),
        }
        return [
            Column(name, "label", values[name][0], labels=values[name][1]) for name in self.columns
        ]
