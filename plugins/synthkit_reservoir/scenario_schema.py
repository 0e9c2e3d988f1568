"""The reservoir scenario's schema: pydantic models of every rule of the seed's section 7
(devices and device groups, their modes, dynamics and routes, the bootstrap and broker
blocks), read by :func:`synthkit_reservoir.scenario.load_scenario`."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from synthkit.api import (
    BrokerBlock,
    check_pattern,
    group_ids,
    id_rule,
)
from synthkit_reservoir.family import MODES, mode_problems
from synthkit_reservoir.layout import MAX_CLIENT_ID

POINT_KINDS = ("BASE", "REFILL", "CLIENT")
_PLAIN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# also an MQTT client id, a topic level and an ingestion key (mqtt_client_id, 128 wide)
_DEVICE_ID = id_rule(MAX_CLIENT_ID)
PlainName = Annotated[str, Field(pattern=_PLAIN, max_length=128)]
PointKind = Literal["BASE", "REFILL", "CLIENT"]
_CHOICES = frozenset((*POINT_KINDS, *MODES, "UTC"))  # the values written in any case


class _Strict(BaseModel):
    """Unknown keys refused, NaN and infinity refused, text trimmed."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True
    )


def _upper(value: Any) -> Any:
    """Case-insensitive choices (``utc``, ``base``): the canonical upper-case form when it is
    one of them; anything else goes on as written, so an error quotes the user's own text
    (it quoted ``'EUROPE/LISBON'`` for ``Europe/Lisbon``)."""
    if isinstance(value, str) and value.strip().upper() in _CHOICES:
        return value.strip().upper()
    return value


class BootstrapSettings(_Strict):
    days: int = Field(30, ge=1, le=365)
    step_minutes: int = Field(5, ge=1, le=60)
    drain_analytics: bool = False
    cluster_places: bool = False  # bootstrap clusters the trucks' stops into places afterwards


Hourly = Annotated[tuple[float, ...], Field(min_length=24, max_length=24)]
Weekly = Annotated[tuple[float, ...], Field(min_length=7, max_length=7)]


def _all(values: tuple[float, ...] | None, ok: Any, what: str) -> tuple[float, ...] | None:
    if values is not None:
        bad = [i for i, v in enumerate(values) if not ok(v)]
        if bad:
            raise ValueError(f"every value must be {what}; index {bad[0]} is {values[bad[0]]}")
    return values


class Demand(_Strict):
    target_daily_liters: float | None = Field(None, gt=0)
    hourly_weights: Hourly | None = None  # each > 0; normalised to mean 1
    weekday_multipliers: Weekly | None = None  # each > 0; Monday is index 0

    _pos = field_validator("hourly_weights", "weekday_multipliers")(
        lambda v: _all(v, lambda x: x > 0, "> 0")
    )


class Supply(_Strict):
    hourly_probability_multipliers: Hourly | None = None
    hourly_volume_multipliers: Hourly | None = None
    weekday_probability_multipliers: Weekly | None = None

    _nonneg = field_validator(
        "hourly_probability_multipliers",
        "hourly_volume_multipliers",
        "weekday_probability_multipliers",
    )(lambda v: _all(v, lambda x: x >= 0, ">= 0"))


class Dynamics(_Strict):
    demand: Demand | None = None
    supply: Supply | None = None


class _DeviceFields(_Strict):
    archetype: str
    mode: Literal[MODES] | None = None  # type: ignore[valid-type]  # MODES unpacks at run time; None: the archetype's mode
    cadence_seconds: int = Field(300, ge=60, le=3600)
    route_id: str | None = None
    dynamics: Dynamics | None = None
    parameter_overrides: dict[str, Any] = Field(default_factory=dict)

    _norm_arch = field_validator("archetype", mode="before")(
        lambda v: v.strip().lower().replace("-", "_") if isinstance(v, str) else v
    )
    _norm_mode = field_validator("mode", mode="before")(_upper)

    @model_validator(mode="after")
    def _mode_rules(self) -> _DeviceFields:
        # a mode given here is checked with the schema; one taken from the archetype, when
        # the archetype is resolved (the same rules, family.mode_problems)
        found = (
            mode_problems(self.mode, bool(self.route_id), self.dynamics is not None)
            if self.mode
            else []
        )
        if found:
            raise ValueError(f"{found[0][1]}; {found[0][2]}")
        return self


class Device(_DeviceFields):
    device_id: str
    reservoir_id: UUID | None = None

    @field_validator("device_id", mode="before")
    @classmethod
    def _device_id(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            if not _DEVICE_ID.match(value):
                raise ValueError(
                    f"use letters, digits and _ . : - only, at most {MAX_CLIENT_ID} (it is also the MQTT client id)"
                )
        return value


class DeviceGroup(_DeviceFields):
    """``count`` devices named by ``id_pattern`` (``{n}`` or ``{n:05d}``, from ``first``):
    the compact form for large fleets."""

    group: PlainName
    count: int = Field(ge=1, le=1_000_000)
    id_pattern: str
    first: int = Field(1, ge=0)

    @field_validator("id_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return check_pattern(value, _DEVICE_ID, MAX_CLIENT_ID)

    def device_ids(self) -> list[str]:
        return group_ids(self.id_pattern, self.first, self.count)


def _device_kind(value: Any) -> str:
    return (
        "group" if isinstance(value, dict) and ("count" in value or "group" in value) else "device"
    )


DeviceEntry = Annotated[
    Annotated[Device, Tag("device")] | Annotated[DeviceGroup, Tag("group")],
    Discriminator(_device_kind),
]


class Point(_Strict):
    point_id: PlainName
    kind: PointKind
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    zone_id: str | None = None

    _norm = field_validator("kind", mode="before")(_upper)


class Transition(_Strict):
    from_kind: PointKind
    to_kind: PointKind
    probability: float = Field(ge=0, le=1)

    _norm = field_validator("from_kind", "to_kind", mode="before")(_upper)


class Route(_Strict):
    route_id: PlainName
    points: list[Point] = Field(min_length=1)
    transitions: list[Transition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Route:
        dupes = [p for p, n in Counter(p.point_id for p in self.points).items() if n > 1]
        if dupes:
            raise ValueError(f"point_id {dupes[0]!r} appears more than once")
        sums: dict[str, float] = {}
        for t in self.transitions:
            sums[t.from_kind] = sums.get(t.from_kind, 0.0) + t.probability
        for kind, total in sums.items():
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"transition probabilities from {kind} sum to {total:g}, not 1.0")
        return self

    def kinds(self) -> set[str]:
        return {p.kind for p in self.points}

    def missing_kinds(self) -> list[str]:
        """The point kinds a mobile route needs and this one lacks (empty: complete)."""
        return [k for k in POINT_KINDS if k not in self.kinds()]


class Scenario(_Strict):
    scenario_id: PlainName
    seed: int = 42
    timezone: Literal["UTC"] = "UTC"
    speedup_factor: float = Field(1.0, gt=0)
    mqtt: BrokerBlock = Field(default_factory=BrokerBlock)
    bootstrap: BootstrapSettings = Field(default_factory=BootstrapSettings)
    devices: list[DeviceEntry] = Field(min_length=1)
    routes: list[Route] = Field(default_factory=list)
    faults: Any = None  # the core validates and compiles it (compile_faults)

    _tz = field_validator("timezone", mode="before")(_upper)
