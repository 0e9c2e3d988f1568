"""Scenarios: the YAML that describes a device fleet, validated to the last field.

``load_scenario`` reads the file with strictyaml's rules (:mod:`synthkit.yamlfile`), validates it with
the pydantic models of :mod:`synthkit_reservoir.scenario_schema` (every rule of the seed's section 7), expands device groups,
resolves archetypes and device models through the plugin registry, and checks every
``parameter_overrides`` key against the model's parameters. All problems are collected and
reported at once, each with ``file:line: field.path: what is wrong (how to fix it)``.

The core names no archetype or model: they come from plugins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import (
    BaseModel,
)

from synthkit.api import (
    Archetype,
    ConfigError,
    Declared,
    DeviceModel,
    FaultPlan,
    Loc,
    LocatedProblems,
    Plugins,
    Problems,
    Shard,
    compile_faults,
    load_yaml,
    resolve_devices,
    sha256_file,
    validate_section,
)
from synthkit_reservoir.family import FAMILY, NAME, REQUIRED_COLUMNS, mode_problems
from synthkit_reservoir.layout import MAX_CLIENT_ID
from synthkit_reservoir.scenario_schema import (
    Device,
    DeviceGroup,
    Dynamics,
    Route,
    Scenario,
)

# ------------------------------------------------------------------------ resolved form


@dataclass(frozen=True)
class ResolvedDevice:
    """One device, ready for the engine: archetype, model and merged parameters resolved."""

    device_id: str
    mode: str
    archetype: Archetype
    model: DeviceModel
    cadence_seconds: int
    params: BaseModel | dict[str, Any]
    dynamics: Dynamics | None
    route: Route | None
    reservoir_id: UUID | None
    group: str | None
    loc: Loc  # where it is declared, for messages

    @property
    def facts(self) -> dict[str, Any]:
        """What dry-run says of the device beside its archetype and model."""
        return {"cadence_seconds": self.cadence_seconds}


@dataclass(frozen=True)
class LoadedScenario:
    path: str
    sha256: str
    scenario: Scenario
    devices: tuple[ResolvedDevice, ...]
    warnings: tuple[str, ...] = ()
    faults: FaultPlan | None = None  # the scenario's faults block, compiled
    shard: Shard | None = None  # --shard K/N: only its devices are here

    @property
    def scenario_id(self) -> str:
        return self.scenario.scenario_id

    def sharded(self, shard: Shard | None) -> LoadedScenario:
        """Only ``shard``'s devices (``--shard K/N``: a hash of each id picks them), or all."""
        if shard is None:
            return self
        ids = [d.device_id for d in self.devices]
        mine = shard.of(ids)
        if not mine:  # a hash spreads the ids: a small fleet may leave a shard empty
            raise ConfigError(
                f"shard {shard} holds none of the scenario's {len(ids)} device(s): "
                "a hash of each id picks its shard, and none picked this one",
                hint="give fewer shards, or run the shards that hold devices (`synthkit "
                "dry-run` lists the devices; an empty shard has nothing to emit)",
            )
        return replace(self, devices=tuple(self.devices[i] for i in mine), shard=shard)

    @property
    def seed(self) -> int:
        return self.scenario.seed


ScenarioError = LocatedProblems  # what load_scenario raises: every problem, located


def load_scenario(path: str, plugins: Plugins) -> LoadedScenario:
    """Read, validate and resolve a scenario; raises :class:`ScenarioError` listing every
    problem, or :class:`ConfigError` for a file that is not YAML at all."""
    doc = load_yaml(path)
    problems = Problems(doc)
    scenario = validate_section(
        doc, Scenario, problems, union_tags=("device", "group"), explain=_explain
    )
    if (
        scenario is None
    ):  # the devices that did validate are still resolved: one run lists every problem
        from synthkit_reservoir.partial import Shifted, valid_part

        part = valid_part(doc, Scenario)
        if part is not None:
            _resolve(part[0], plugins, Shifted(problems, part[1]))  # type: ignore[arg-type]
    problems.raise_any()
    assert scenario is not None
    scenario = scenario.model_copy(
        update={"mqtt": scenario.mqtt.files_from(Path(doc.path).parent, problems, ("mqtt",))}
    )
    devices, warnings = _resolve(scenario, plugins, problems)
    faults = compile_faults(
        doc, problems, devices, family=FAMILY, plugins=plugins, seed=scenario.seed
    )
    problems.raise_any()
    return LoadedScenario(
        doc.path, sha256_file(path), scenario, tuple(devices), tuple(warnings), faults
    )


def _explain(err: dict[str, Any], loc: Loc) -> tuple[str, str] | None:
    """The reservoir's own wording: hourly and weekday lists."""
    kind, msg = err["type"], err["msg"]
    if kind in ("too_short", "too_long") and "24" in msg:
        return msg, "give exactly 24 values, one per UTC hour"
    if kind in ("too_short", "too_long") and " 7 " in f" {msg} ":
        return msg, "give exactly 7 values, Monday first"
    return None


def _resolve(
    scenario: Scenario, plugins: Plugins, problems: Problems
) -> tuple[list[ResolvedDevice], list[str]]:
    """The core resolves archetype -> model -> parameters and expands groups
    (``resolve_devices``); the reservoir adds its own rules: a mode's route and dynamics."""
    routes: dict[str, Route] = {}
    for i, declared in enumerate(scenario.routes):
        if declared.route_id in routes:
            problems.add(
                ("routes", i, "route_id"),
                f"route {declared.route_id!r} is defined twice",
                "rename or remove one",
            )
        routes[declared.route_id] = declared
    incomplete_routes: set[str] = set()

    def check(entry: Declared, arch: Archetype, model: DeviceModel, mode: str) -> bool:
        device = entry.entry
        # the mode may come from the archetype: apply the mode rules once it is known
        broken = mode_problems(mode, bool(device.route_id), device.dynamics is not None)
        for field, message, fix in broken:
            problems.add((*entry.loc, field), message, fix)
        if broken:
            return False
        if not device.route_id:
            return True
        route = routes.get(device.route_id)
        if route is None:
            problems.add(
                (*entry.loc, "route_id"),
                f"unknown route {device.route_id!r}",
                f"define it under routes (known: {', '.join(routes) or 'none'})",
            )
            return False
        missing = route.missing_kinds()
        if missing and route.route_id not in incomplete_routes:
            incomplete_routes.add(route.route_id)
            r = next(j for j, x in enumerate(scenario.routes) if x.route_id == route.route_id)
            problems.add(
                ("routes", r, "points"),
                f"route {route.route_id!r} is used by MOBILE devices but has no "
                f"{'/'.join(missing)} point",
                "a mobile route needs BASE, REFILL and CLIENT points",
            )
        return True

    resolved = resolve_devices(
        (_declared(i, entry) for i, entry in enumerate(scenario.devices)),
        family=NAME,
        plugins=plugins,
        problems=problems,
        required_columns=REQUIRED_COLUMNS,
        check=check,
        max_length=MAX_CLIENT_ID,
    )
    devices = []
    for r in resolved:
        entry = r.declared.entry
        devices.append(
            ResolvedDevice(
                device_id=r.device_id,
                mode=r.mode,
                archetype=r.archetype,
                model=r.model,
                cadence_seconds=entry.cadence_seconds,
                params=r.params,
                dynamics=entry.dynamics,
                route=routes[entry.route_id] if entry.route_id else None,
                reservoir_id=getattr(entry, "reservoir_id", None),
                group=r.declared.group,
                loc=r.declared.loc,
            )
        )
    unused = set(routes) - {d.route.route_id for d in devices if d.route}
    return devices, [f"route {name!r} is not used by any device" for name in sorted(unused)]


def _declared(i: int, entry: Device | DeviceGroup) -> Declared:
    if isinstance(entry, DeviceGroup):
        return Declared(
            ("devices", i),
            entry.archetype,
            entry.device_ids(),
            entry.parameter_overrides,
            entry.mode,
            group=entry.group,
            ids_field="id_pattern",
            first=entry.first,
            entry=entry,
        )
    return Declared(
        ("devices", i),
        entry.archetype,
        [entry.device_id],
        entry.parameter_overrides,
        entry.mode,
        entry=entry,
    )
