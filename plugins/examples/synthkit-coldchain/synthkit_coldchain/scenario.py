"""The family's scenario file: ``scenario_id``, ``seed``, a ``coldchain`` section (the
interval, the window an export covers, the units) and an optional ``mqtt`` block. Every
problem is reported at once and located; the units resolve through the core's
``resolve_devices`` (archetype -> model -> parameters, "did you mean")."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from synthkit.api import (
    BrokerBlock,
    DeviceEntry,
    Plugins,
    Problems,
    Resolved,
    declare,
    id_rule,
    load_yaml,
    resolve_devices,
    sha256_file,
    validate_section,
)
from synthkit_coldchain.family import NAME, REQUIRED_COLUMNS

ID = id_rule(64)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class UnitEntry(DeviceEntry):
    """One unit (``unit_id``), or ``count`` units named by ``id_pattern`` from ``first``."""

    unit_id: str | None = Field(None, pattern=ID.pattern)


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
class ColdFleet:
    """The scenario, validated and resolved (a ``synthkit.api.Fleet``)."""

    path: str
    sha256: str
    scenario: ColdScenario
    devices: tuple[Resolved, ...]  # each a synthkit.api.FleetDevice, as the core resolved it
    warnings: tuple[str, ...] = ()

    scenario_id = property(lambda self: self.scenario.scenario_id)
    seed = property(lambda self: self.scenario.seed)
    window_s = property(lambda self: self.scenario.coldchain.hours * 3600)
    broker = property(lambda self: self.scenario.mqtt)
    interval_s = property(lambda self: self.scenario.coldchain.interval_seconds)


def load_units(path: str, plugins: Plugins) -> ColdFleet:
    doc = load_yaml(path)
    problems = Problems(doc)
    scenario = validate_section(doc, ColdScenario, problems)
    problems.raise_any()
    assert scenario is not None
    given = (
        declare(("coldchain", "units", i), u, u.unit_id, "unit_id", problems, max_length=64)
        for i, u in enumerate(scenario.coldchain.units)
    )
    declared = [d for d in given if d is not None]
    found = resolve_devices(
        declared,
        family=NAME,
        plugins=plugins,
        problems=problems,
        required_columns=REQUIRED_COLUMNS,
        max_length=64,
    )
    problems.raise_any()
    return ColdFleet(doc.path, sha256_file(path), scenario, tuple(found))
