"""The family's scenario file: ``scenario_id``, ``seed``, an ``energy_meter`` section (the
meters, their archetypes and interval) and an optional ``mqtt`` block, validated with every
problem located (``file:line: field: message (fix)``) by the core's ``validate_section``."""

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
    load_yaml,
    resolve_devices,
    sha256_file,
    validate_section,
)
from synthkit_energy_meter.family import NAME, REQUIRED_COLUMNS

_ID = r"^[A-Z0-9][A-Z0-9_.:-]*$"  # also the MQTT client id and a topic level


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True
    )


class MeterEntry(DeviceEntry):
    """One meter (``meter_id``) or ``count`` meters named by ``id_pattern`` (``{n}``): the
    core's device entry (archetype, overrides, group) with the family's id field."""

    meter_id: str | None = Field(None, pattern=_ID)


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
class LoadedMeters:
    """The scenario, validated and resolved (a ``synthkit.api.Fleet``)."""

    path: str
    sha256: str
    scenario: MeterScenario
    devices: tuple[Resolved, ...]  # each a synthkit.api.FleetDevice, as the core resolved it
    warnings: tuple[str, ...] = ()

    @property
    def scenario_id(self) -> str:
        return self.scenario.scenario_id

    @property
    def seed(self) -> int:
        return self.scenario.seed

    @property
    def window_s(self) -> int:  # what export covers unless told otherwise
        return self.scenario.energy_meter.days * 86_400

    @property
    def broker(self) -> BrokerBlock:  # the scenario's mqtt block, for synthkit live
        return self.scenario.mqtt

    @property
    def interval_s(self) -> int:  # the seconds between readings (ticks)
        return self.scenario.energy_meter.interval_minutes * 60


def load_meters(path: str, plugins: Plugins) -> LoadedMeters:
    """Read and resolve the file; every problem is reported at once (exit 2). The core
    resolves archetype -> model -> parameters, with "did you mean" and located errors."""
    doc = load_yaml(path)
    problems = Problems(doc)
    scenario = validate_section(doc, MeterScenario, problems)
    problems.raise_any()
    assert scenario is not None
    meters = scenario.energy_meter.meters
    found = (
        declare(("energy_meter", "meters", i), m, m.meter_id, "meter_id", problems)
        for i, m in enumerate(meters)
    )
    declared = [d for d in found if d is not None]
    resolved = resolve_devices(
        declared, family=NAME, plugins=plugins, problems=problems, required_columns=REQUIRED_COLUMNS
    )
    problems.raise_any()
    return LoadedMeters(doc.path, sha256_file(path), scenario, tuple(resolved))
