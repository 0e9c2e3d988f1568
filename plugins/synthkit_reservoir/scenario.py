"""Scenarios: the YAML that describes a device fleet, validated to the last field.

``load_scenario`` reads the file with strictyaml's rules (:mod:`synthkit.yamlfile`), validates it with
the pydantic models below (every rule of the seed's section 7), expands device groups,
resolves archetypes and device models through the plugin registry, and checks every
``parameter_overrides`` key against the model's parameters. All problems are collected and
reported at once, each with ``file:line: field.path: what is wrong (how to fix it)``.

The core names no archetype or model: they come from plugins.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from synthkit.api import (
    Archetype,
    BrokerBlock,
    DeviceModel,
    Loc,
    LocatedProblems,
    Plugins,
    Problems,
    load_yaml,
    validate_section,
)
from synthkit_reservoir.family import MODES, NAME, REQUIRED_COLUMNS, mode_problems
from synthkit_reservoir.layout import MAX_CLIENT_ID

POINT_KINDS = ("BASE", "REFILL", "CLIENT")
_PLAIN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# also an MQTT client id, a topic level and an ingestion key (mqtt_client_id, 128 wide)
_DEVICE_ID = re.compile(rf"^[A-Z0-9][A-Z0-9_.:-]{{0,{MAX_CLIENT_ID - 1}}}$")
_GROUP_FIELD = re.compile(r"\{n(:[^{}]*)?\}")
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
        if len(_GROUP_FIELD.findall(value)) != 1:
            raise ValueError("must contain {n} (or a format such as {n:05d}) exactly once")
        try:
            sample = value.format(n=1)
        except (ValueError, IndexError, KeyError) as exc:
            raise ValueError(f"is not a valid pattern: {exc}") from None
        if not _DEVICE_ID.match(sample.upper()):
            shown = f"{sample[:40]!r}{'...' if len(sample) > 40 else ''}"
            raise ValueError(
                f"gives {shown} (n=1), which is not a device id: letters, digits and _ . : - only, "
                f"at most {MAX_CLIENT_ID} characters"
            )
        return value

    def device_ids(self) -> list[str]:
        return [
            self.id_pattern.format(n=n).upper() for n in range(self.first, self.first + self.count)
        ]


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

    _tz = field_validator("timezone", mode="before")(_upper)


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


@dataclass(frozen=True)
class LoadedScenario:
    path: str
    sha256: str
    scenario: Scenario
    devices: tuple[ResolvedDevice, ...]
    warnings: tuple[str, ...] = ()

    @property
    def scenario_id(self) -> str:
        return self.scenario.scenario_id

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
    problems.raise_any()
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return LoadedScenario(doc.path, digest, scenario, tuple(devices), tuple(warnings))


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
    archetypes = plugins.archetypes()
    every_model = plugins.device_models()
    models = plugins.device_models(family=NAME)
    routes: dict[str, Route] = {}
    for i, declared in enumerate(scenario.routes):
        if declared.route_id in routes:
            problems.add(
                ("routes", i, "route_id"),
                f"route {declared.route_id!r} is defined twice",
                "rename or remove one",
            )
        routes[declared.route_id] = declared
    devices: list[ResolvedDevice] = []
    seen: dict[str, Loc] = {}
    incomplete_routes: set[str] = set()
    for i, entry in enumerate(scenario.devices):
        loc: Loc = ("devices", i)
        arch = archetypes.get(entry.archetype)
        if arch is None:
            close = difflib.get_close_matches(entry.archetype, list(archetypes), n=1)
            fix = (
                f"did you mean {close[0]!r}?"
                if close
                else f"known: {', '.join(sorted(archetypes)) or 'none installed'}"
            )
            problems.add((*loc, "archetype"), f"unknown archetype {entry.archetype!r}", fix)
            continue
        mode = entry.mode or arch.mode
        if mode != arch.mode:
            problems.add(
                (*loc, "mode"),
                f"archetype {arch.name!r} is {arch.mode}, not {mode}",
                f"set mode: {arch.mode} or pick a {mode} archetype",
            )
            continue
        model = models.get(arch.model)
        if model is None:
            other = every_model.get(arch.model)
            why = (
                f"which is a {other.family or 'family-less'} model, not a {NAME} one"
                if other
                else "which no installed plugin provides"
            )
            problems.add(
                (*loc, "archetype"),
                f"archetype {arch.name!r} needs device model {arch.model!r}, {why}",
                f"pick a {NAME} archetype" if other else "install the plugin that provides it",
            )
            continue
        unfit = _unfit(arch, model, plugins)
        if unfit:
            problems.add(
                (*loc, "archetype"),
                unfit,
                "report it to the plugin's authors, or pick another archetype",
            )
            continue
        # the mode may come from the archetype: apply the mode rules once it is known
        broken = mode_problems(mode, bool(entry.route_id), entry.dynamics is not None)
        for field, message, fix in broken:
            problems.add((*loc, field), message, fix)
        if broken:
            continue
        route: Route | None = None
        if entry.route_id:
            route = routes.get(entry.route_id)
            if route is None:
                problems.add(
                    (*loc, "route_id"),
                    f"unknown route {entry.route_id!r}",
                    f"define it under routes (known: {', '.join(routes) or 'none'})",
                )
                continue
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
        try:
            params = resolve_parameters(model, arch, entry.parameter_overrides)
        except ParameterError as exc:
            for key, message in exc.items:
                where: Loc = (*loc, "parameter_overrides")
                if key in entry.parameter_overrides:
                    where = (*where, key)  # the location names the parameter
                elif key:  # the archetype's own default is bad: the plugin's fault
                    message = f"{key}: {message} (default of archetype {arch.name!r})"
                problems.add(where, message)
            continue
        if isinstance(entry, DeviceGroup):
            ids, group = entry.device_ids(), entry.group
            bad = next((i for i, d in enumerate(ids) if not _DEVICE_ID.match(d)), None)
            if bad is not None:  # every id, not only the first: {n:,} gives Z-1,000 at n=1000
                problems.add(
                    (*loc, "id_pattern"),
                    f"gives {ids[bad][:60]!r}{'...' if len(ids[bad]) > 60 else ''} "
                    f"(n={entry.first + bad}), which is not a device id",
                    f"ids are letters, digits and _ . : - only, at most {MAX_CLIENT_ID} characters",
                )
                continue
        else:
            ids, group = [entry.device_id], None
        for device_id in ids:
            if device_id in seen:
                first = problems.doc.where(seen[device_id])
                problems.add(
                    loc,
                    f"device_id {device_id!r} is already declared at {first}",
                    "device ids must be unique (after upper-casing)",
                )
                continue
            seen[device_id] = loc
            devices.append(
                ResolvedDevice(
                    device_id=device_id,
                    mode=mode,
                    archetype=arch,
                    model=model,
                    cadence_seconds=entry.cadence_seconds,
                    params=params,
                    dynamics=entry.dynamics,
                    route=route,
                    reservoir_id=getattr(entry, "reservoir_id", None),
                    group=group,
                    loc=loc,
                )
            )
    warnings = []
    unused = set(routes) - {d.route.route_id for d in devices if d.route}
    for name in sorted(unused):
        warnings.append(f"route {name!r} is not used by any device")
    return devices, warnings


def _unfit(arch: Archetype, model: DeviceModel, plugins: Plugins) -> str:
    """Why an archetype cannot run on its model (a plugin's mistake, not the scenario's)."""
    if arch.mode != model.mode:
        return (
            f"archetype {arch.name!r} ({plugins.source_of('archetypes', arch.name)}) is {arch.mode}, "
            f"but its device model {model.name!r} is {model.mode}"
        )
    declared = {c.name for c in model.columns}
    missing = [c for c in REQUIRED_COLUMNS if c not in declared]
    if missing:
        return (
            f"device model {model.name!r} ({plugins.source_of('device_models', model.name)}) does not "
            f"declare the column(s) the {NAME} payload needs: {', '.join(missing)} (DeviceModel.columns)"
        )
    return ""


class ParameterError(ValueError):
    """Parameters that do not fit a model: ``items`` are (parameter name or "", message)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(m for _, m in items))
        self.items = items


def resolve_parameters(
    model: DeviceModel, archetype: Archetype, overrides: dict[str, Any]
) -> BaseModel | dict[str, Any]:
    """The archetype's defaults with ``overrides`` on top, checked against the model's
    parameters: unknown (misspelt) keys and bad values raise :class:`ParameterError`.

    A model declares its parameters as a pydantic class (validated, typed) or as a mapping
    of defaults (names checked only)."""
    spec = model.parameters
    merged = {**archetype.defaults, **overrides}
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        known = list(spec.model_fields)
        try:
            return spec.model_validate(merged)
        except ValidationError as exc:
            items = []
            for err in exc.errors(include_url=False):
                name = str(err["loc"][0]) if err["loc"] else ""
                if err["type"] == "extra_forbidden":
                    items.append((name, _unknown_parameter(name, model.name, known)))
                else:
                    items.append(
                        (name, err["msg"].removeprefix("Value error, "))
                    )  # the caller places the name
            raise ParameterError(items) from None
    assert isinstance(spec, Mapping)  # DeviceModel.parameters: a pydantic class or a mapping
    known = list(spec)
    unknown = [k for k in merged if k not in spec]
    if unknown:
        raise ParameterError([(k, _unknown_parameter(k, model.name, known)) for k in unknown])
    return {**spec, **merged}


def _unknown_parameter(name: str, model: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known) or 'none'}"
    return f"unknown parameter {name!r} for model {model!r} ({hint})"
