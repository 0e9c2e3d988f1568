"""The family's scenario file: ``scenario_id``, ``seed``, a ``coldchain`` section (the
interval, the window an export covers, the units) and an optional ``mqtt`` block. Every
problem is reported at once and located; the units resolve through the core's
``resolve_devices`` (archetype -> model -> parameters, "did you mean")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthkit.api import (
    Archetype,
    BrokerBlock,
    Declared,
    DeviceModel,
    Plugins,
    Problems,
    check_pattern,
    group_ids,
    id_rule,
    load_yaml,
    resolve_devices,
    validate_section,
)
from synthkit_coldchain.family import MODE, NAME, REQUIRED_COLUMNS

ID = id_rule(64)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class UnitEntry(_Strict):
    """One unit (``unit_id``), or ``count`` units named by ``id_pattern`` from ``first``."""

    archetype: str
    unit_id: str | None = Field(None, pattern=ID.pattern)
    id_pattern: str | None = None
    count: int = Field(1, ge=1, le=100_000)
    first: int = Field(1, ge=0)
    parameter_overrides: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return value if value is None else check_pattern(value, ID, 64)


class ColdSection(_Strict):
    interval_seconds: int = Field(60, ge=1, le=3600)
    hours: int = Field(24, ge=1, le=24 * 366)  # what an export covers, back from --end-at
    units: list[UnitEntry] = Field(min_length=1)


class ColdScenario(_Strict):
    scenario_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 42
    coldchain: ColdSection
    mqtt: BrokerBlock = Field(default_factory=BrokerBlock)


@dataclass(frozen=True)
class Unit:
    """One unit, resolved (a ``synthkit.api.FleetDevice``)."""

    device_id: str
    archetype: Archetype
    model: DeviceModel
    params: Any
    mode: str = MODE
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ColdFleet:
    """The scenario, validated and resolved (a ``synthkit.api.Fleet``)."""

    path: str
    sha256: str
    scenario: ColdScenario
    devices: tuple[Unit, ...]
    warnings: tuple[str, ...] = ()

    scenario_id = property(lambda self: self.scenario.scenario_id)
    seed = property(lambda self: self.scenario.seed)
    window_s = property(lambda self: self.scenario.coldchain.hours * 3600)
    broker = property(lambda self: self.scenario.mqtt)


def load_units(path: str, plugins: Plugins) -> ColdFleet:
    doc = load_yaml(path)
    problems = Problems(doc)
    scenario = validate_section(doc, ColdScenario, problems)
    problems.raise_any()
    assert scenario is not None
    declared = []
    for i, unit in enumerate(scenario.coldchain.units):
        loc = ("coldchain", "units", i)
        if (unit.unit_id is None) == (unit.id_pattern is None):
            problems.add(loc, "give unit_id, or id_pattern and count", "one of the two")
            continue
        many = unit.id_pattern is not None
        ids = group_ids(unit.id_pattern, unit.first, unit.count) if many else [unit.unit_id]
        overrides = unit.parameter_overrides
        field_ = "id_pattern" if many else None
        declared.append(
            Declared(loc, unit.archetype, ids, overrides, ids_field=field_, first=unit.first)
        )
    found = resolve_devices(
        declared,
        family=NAME,
        plugins=plugins,
        problems=problems,
        required_columns=REQUIRED_COLUMNS,
        max_length=64,
    )
    problems.raise_any()
    units = tuple(Unit(r.device_id, r.archetype, r.model, r.params) for r in found)
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return ColdFleet(doc.path, digest, scenario, units)
