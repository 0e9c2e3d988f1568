"""The family's scenario file: ``scenario_id``, ``seed``, an ``energy_meter`` section (the
meters, their archetypes and interval) and an optional ``mqtt`` block, validated with every
problem located (``file:line: field: message (fix)``) by the core's ``validate_section``."""

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
    load_yaml,
    resolve_devices,
    validate_section,
)
from synthkit_energy_meter.family import MODE, NAME, REQUIRED_COLUMNS

_ID = r"^[A-Z0-9][A-Z0-9_.:-]*$"  # also the MQTT client id and a topic level


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True
    )


class MeterEntry(_Strict):
    """One meter (``meter_id``) or ``count`` meters named by ``id_pattern`` (``{n}``)."""

    archetype: str
    meter_id: str | None = Field(None, pattern=_ID)
    id_pattern: str | None = None
    count: int = Field(1, ge=1, le=100_000)
    parameter_overrides: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None and value.count("{n") != 1:
            raise ValueError("must contain {n} (or a format such as {n:03d}) exactly once")
        return value

    def ids(self) -> list[str]:
        if self.id_pattern is None:
            return [self.meter_id or ""]
        return [self.id_pattern.format(n=n).upper() for n in range(1, self.count + 1)]


class MeterSection(_Strict):
    interval_minutes: int = Field(15, ge=1, le=60)
    days: int = Field(7, ge=1, le=366)  # the window an export covers, back from --end-at
    meters: list[MeterEntry] = Field(min_length=1)


class MeterScenario(_Strict):
    scenario_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 42
    energy_meter: MeterSection
    mqtt: BrokerBlock = Field(default_factory=BrokerBlock)


@dataclass(frozen=True)
class Meter:
    """One meter, resolved (a ``synthkit.api.FleetDevice``: what validate and dry-run show)."""

    device_id: str  # the meter id
    archetype: Archetype
    model: DeviceModel
    params: BaseModel
    mode: str = MODE
    facts: dict[str, Any] = field(default_factory=dict)  # nothing beyond the archetype's


@dataclass(frozen=True)
class LoadedMeters:
    """The scenario, validated and resolved (a ``synthkit.api.Fleet``)."""

    path: str
    sha256: str
    scenario: MeterScenario
    meters: tuple[Meter, ...]
    warnings: tuple[str, ...] = ()

    @property
    def scenario_id(self) -> str:
        return self.scenario.scenario_id

    @property
    def seed(self) -> int:
        return self.scenario.seed

    @property
    def devices(self) -> tuple[Meter, ...]:
        return self.meters

    @property
    def window_s(self) -> int:  # what export covers unless told otherwise
        return self.scenario.energy_meter.days * 86_400

    @property
    def broker(self) -> BrokerBlock:  # the scenario's mqtt block, for synthkit live
        return self.scenario.mqtt


def load_meters(path: str, plugins: Plugins) -> LoadedMeters:
    """Read and resolve the file; every problem is reported at once (exit 2). The core
    resolves archetype -> model -> parameters, with "did you mean" and located errors."""
    doc = load_yaml(path)
    problems = Problems(doc)
    scenario = validate_section(doc, MeterScenario, problems)
    problems.raise_any()
    assert scenario is not None
    declared = []
    for i, entry in enumerate(scenario.energy_meter.meters):
        loc = ("energy_meter", "meters", i)
        if (entry.meter_id is None) == (entry.id_pattern is None):
            problems.add(loc, "give meter_id, or id_pattern and count", "one of the two")
            continue
        pattern = entry.id_pattern is not None
        declared.append(
            Declared(
                loc,
                entry.archetype,
                entry.ids(),
                entry.parameter_overrides,
                ids_field="id_pattern" if pattern else None,
            )
        )
    resolved = resolve_devices(
        declared, family=NAME, plugins=plugins, problems=problems, required_columns=REQUIRED_COLUMNS
    )
    problems.raise_any()
    meters = tuple(Meter(r.device_id, r.archetype, r.model, r.params) for r in resolved)  # type: ignore[arg-type]
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return LoadedMeters(doc.path, digest, scenario, meters)
